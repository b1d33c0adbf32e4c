"""Manual corrections: an admin overrides a log's billable seconds or status, with a reason.

Status and money agree: a correction to `absent` or `excused` bills nothing unless it also
gives billable seconds. Billable seconds above the attended ones are an explicit override
(`allow_above_attended`), flagged as `billable_override` wherever the log goes.
"""
from __future__ import annotations

from dataclasses import dataclass

from attendance.intervals import Interval, whole_seconds

NOT_BILLED = ("absent", "excused")


class CorrectionRejected(ValueError):
    """The correction contradicts the log it is for."""


@dataclass(frozen=True)
class Overrides:
    """What admins set; None keeps the computed value. New sessions never touch these."""

    billable_seconds: int | None = None
    status: str | None = None
    reason: str | None = None  # the latest correction's

    @property
    def corrected(self) -> bool:
        return self.billable_seconds is not None or self.status is not None


@dataclass(frozen=True)
class Correction:
    reason: str
    billable_seconds: int | None = None
    status: str | None = None
    allow_above_attended: bool = False


def apply(overrides: Overrides, correction: Correction, window: Interval, attended_seconds: int) -> Overrides:
    """The overrides after `correction`; what it leaves out stays as corrected before."""
    if correction.billable_seconds is None and correction.status is None:
        raise CorrectionRejected("a correction sets billable_seconds, status or both")
    billable = correction.billable_seconds
    if billable is None and correction.status in NOT_BILLED:
        billable = 0
    limit = whole_seconds(window.length)
    if billable is not None and billable > limit:
        raise CorrectionRejected(f"billable_seconds cannot exceed the scheduled window ({limit} s)")
    if billable is not None and billable > attended_seconds and not correction.allow_above_attended:
        raise CorrectionRejected(f"billable_seconds above attended_seconds ({attended_seconds} s) "
                                 "needs allow_above_attended: true")
    return Overrides(
        billable_seconds=overrides.billable_seconds if billable is None else billable,
        status=correction.status or overrides.status,
        reason=correction.reason,
    )


def audited(content: dict) -> dict:
    """The values a correction can change, as kept in the audit trail."""
    return {"billable_seconds": content["billable_seconds"], "status": content["status"]}
