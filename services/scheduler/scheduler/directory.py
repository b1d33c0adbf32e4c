"""The academy directory: teachers, families and students (a student belongs to a family).

The three kinds share one shape (name, email, active, version); a student adds family_id.
Every change bumps `version`, which consumers use to ignore stale `<kind>.upserted` events.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def normalize_email(value: str) -> str:
    """Emails are compared case-insensitively everywhere, so they are stored lower-cased."""
    email = value.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValueError(f"{value!r} is not an email address")
    return email



@dataclass(frozen=True)
class Kind:
    name: str
    plural: str

    @property
    def id_key(self) -> str:
        return f"{self.name}_id"

    @property
    def event_type(self) -> str:
        return f"{self.name}.upserted"


TEACHER = Kind("teacher", "teachers")
FAMILY = Kind("family", "families")
STUDENT = Kind("student", "students")
KINDS = (TEACHER, FAMILY, STUDENT)


@dataclass(frozen=True)
class Entry:
    kind: Kind
    id: int
    name: str
    email: str
    active: bool
    version: int
    family_id: int | None = None

    def payload(self) -> dict[str, Any]:
        """The `<kind>.upserted` data, also what the HTTP API answers."""
        data: dict[str, Any] = {self.kind.id_key: self.id}
        if self.kind is STUDENT:
            data["family_id"] = self.family_id
        data.update(name=self.name, email=self.email, active=self.active, version=self.version)
        return data


@dataclass(frozen=True)
class Changes:
    """A partial update: None leaves a field as it is."""

    name: str | None = None
    email: str | None = None
    active: bool | None = None
    family_id: int | None = None


def apply(entry: Entry, changes: Changes) -> Entry | None:
    """The entry after `changes`, one version up; None when nothing would change."""
    given = {k: v for k, v in dataclasses.asdict(changes).items() if v is not None}
    if entry.kind is not STUDENT:
        given.pop("family_id", None)
    if all(getattr(entry, k) == v for k, v in given.items()):
        return None
    return dataclasses.replace(entry, **given, version=entry.version + 1)
