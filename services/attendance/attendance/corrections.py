"""Manual corrections: an admin overrides a log's billable seconds or status, with a reason."""
from __future__ import annotations

from dataclasses import dataclass

from attendance.intervals import Interval, whole_seconds


class CorrectionRejected(ValueError):
    """The correction contradicts the log it is for."""


@dataclass(frozen=True)
class Overrides:
    """What admins set; None keeps the computed value. New sessions never touch these."""

    billable_seconds: int | None = None
    status: str | None = None

    @property
    def corrected(self) -> bool:
        return self.billable_seconds is not None or self.status is not None


@dataclass(frozen=True)
class Correction:
    reason: str
    billable_seconds: int | None = None
    status: str | None = None


def apply(overrides: Overrides, correction: Correction, window: Interval) -> Overrides:
    """The overrides after `correction`; what it leaves out stays as corrected before."""
    if correction.billable_seconds is None and correction.status is None:
        raise CorrectionRejected("a correction sets billable_seconds, status or both")
    limit = whole_seconds(window.length)
    if correction.billable_seconds is not None and correction.billable_seconds > limit:
        raise CorrectionRejected(f"billable_seconds cannot exceed the scheduled window ({limit} s)")
    return Overrides(
        billable_seconds=overrides.billable_seconds if correction.billable_seconds is None
        else correction.billable_seconds,
        status=correction.status or overrides.status,
    )


def audited(content: dict) -> dict:
    """The values a correction can change, as kept in the audit trail."""
    return {"billable_seconds": content["billable_seconds"], "status": content["status"]}
