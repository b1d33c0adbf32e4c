"""Attendance settings: the common ones plus the attendance policy (docs/architecture.md defaults)."""
from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from academy_common.settings import ServiceSettings
from attendance.model import Policy


class Settings(ServiceSettings):
    http_port: int = Field(default=8082, ge=0, le=65535)
    late_threshold_s: float = Field(default=300, ge=0, description=(
        'attendance: joining later than this after the start is "late"'))
    early_leave_threshold_s: float = Field(default=300, ge=0, description=(
        'attendance: leaving earlier than this before the end is "left early"'))
    finalize_grace_s: float = Field(default=1800, ge=0, description=(
        "attendance: a snapshot fetched this long after the end makes the class final even if a call is still "
        "open (`grace_expired`); never a class whose call was not found, which is final only after the "
        "scheduler's last retry (`no_meeting_found`)"))
    join_window_s: float = Field(default=1800, ge=0, description=(
        "attendance: calls of the class's space, and people's sessions in them, that overlap the scheduled "
        "window widened by this much on both sides count (no wider than the scheduler's fetch window, 30 min)"))

    def policy(self) -> Policy:
        return Policy(
            late_threshold=timedelta(seconds=self.late_threshold_s),
            early_leave_threshold=timedelta(seconds=self.early_leave_threshold_s),
            finalize_grace=timedelta(seconds=self.finalize_grace_s),
            join_window=timedelta(seconds=self.join_window_s),
        )
