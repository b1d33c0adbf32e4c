"""Scheduler settings: the shared ones, the Meet client's, and the ticker's policy."""
from __future__ import annotations

from pydantic import Field

from academy_common.meet_api import MeetApiSettings
from academy_common.settings import ServiceSettings
from scheduler.timetable import TickPolicy


class Settings(ServiceSettings, MeetApiSettings):
    http_port: int = Field(default=8081, ge=0, le=65535)
    tick_interval_s: float = Field(default=120.0, gt=0, description=(
        "scheduler ticker: start/end class sessions, ask for fetches"))
    fetch_interval_s: float = Field(default=180.0, gt=0, description="how often an active class is fetched")
    retry_interval_s: float = Field(default=600.0, gt=0, description=(
        "first retry after a class ends; retry n comes `RETRY_INTERVAL_S`·2^(n−1) after the end"))
    retry_max_gap_s: float = Field(default=6 * 3600.0, gt=0, description="cap on the gap between two retries (6 h)")
    retry_window_days: float = Field(default=7.0, gt=0, description=(
        "how long a class keeps being retried (Meet keeps records 30 days)"))
    start_tolerance_s: float = Field(default=300.0, ge=0, description=(
        "scheduler API: how far in the past a class's start may be when it is created or moved"))

    @property
    def policy(self) -> TickPolicy:
        return TickPolicy(
            fetch_interval_s=self.fetch_interval_s,
            retry_interval_s=self.retry_interval_s,
            retry_max_gap_s=self.retry_max_gap_s,
            retry_window_s=self.retry_window_days * 86400,
        )
