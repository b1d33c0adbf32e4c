"""Scheduler settings: the shared ones, the Meet client's, and the ticker's policy."""
from __future__ import annotations

from pydantic import Field

from academy_common.meet_api import MeetApiSettings
from academy_common.settings import ServiceSettings
from scheduler.timetable import TickPolicy


class Settings(ServiceSettings, MeetApiSettings):
    http_port: int = Field(default=8081, ge=0, le=65535)
    tick_interval_s: float = Field(default=120.0, gt=0)
    fetch_interval_s: float = Field(default=180.0, gt=0)
    retry_interval_s: float = Field(default=600.0, gt=0)
    retry_max_gap_s: float = Field(default=6 * 3600.0, gt=0)
    retry_window_days: float = Field(default=7.0, gt=0)
    start_tolerance_s: float = Field(default=300.0, ge=0)

    @property
    def policy(self) -> TickPolicy:
        return TickPolicy(
            fetch_interval_s=self.fetch_interval_s,
            retry_interval_s=self.retry_interval_s,
            retry_max_gap_s=self.retry_max_gap_s,
            retry_window_s=self.retry_window_days * 86400,
        )
