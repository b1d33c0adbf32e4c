"""Attendance settings: the common ones plus the attendance policy (docs/architecture.md defaults)."""
from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from academy_common.settings import ServiceSettings
from attendance.model import Policy


class Settings(ServiceSettings):
    http_port: int = Field(default=8082, ge=0, le=65535)
    late_threshold_s: float = Field(default=300, ge=0)
    early_leave_threshold_s: float = Field(default=300, ge=0)
    finalize_grace_s: float = Field(default=1800, ge=0)
    join_window_s: float = Field(default=1800, ge=0)

    def policy(self) -> Policy:
        return Policy(
            late_threshold=timedelta(seconds=self.late_threshold_s),
            early_leave_threshold=timedelta(seconds=self.early_leave_threshold_s),
            finalize_grace=timedelta(seconds=self.finalize_grace_s),
            join_window=timedelta(seconds=self.join_window_s),
        )
