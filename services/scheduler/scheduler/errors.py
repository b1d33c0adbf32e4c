"""Why the domain refuses a request; the HTTP adapter turns these into problem+json answers."""
from __future__ import annotations


class Rejected(Exception):
    title = "Rejected"

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class NotFound(Rejected):
    title = "Not Found"


class Invalid(Rejected):
    """The request is well-formed but names things that cannot be used (unknown, inactive, past)."""

    title = "Unprocessable Content"


class Conflict(Rejected):
    """The request clashes with the current state (taken email, overlapping class, started class)."""

    title = "Conflict"
