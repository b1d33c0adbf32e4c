"""meet-fetcher settings (environment variables; defaults from docs/architecture.md)."""
from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from academy_common.meet_api import MeetApiSettings
from academy_common.settings import ServiceSettings


class Settings(ServiceSettings, MeetApiSettings):
    http_port: int = Field(default=8084, ge=0, le=65535)
    # Google's read quotas; every replica reserves its reads from the same budget.
    meet_reads_per_minute: int = Field(default=6000, ge=1)
    meet_reads_per_user_per_minute: int = Field(default=600, ge=1)
    # Fetches in flight per replica (the work queue's prefetch); the API threads bound the calls.
    fetch_concurrency: int = Field(default=64, ge=1, le=1000)
    fetch_incremental: bool = True
    email_cache_ttl_s: float = Field(default=86400.0, gt=0)
    snapshot_cache_ttl_s: float = Field(default=8 * 86400.0, gt=0)  # > RETRY_WINDOW_DAYS
    cache_prune_interval_s: float = Field(default=3600.0, gt=0)

    @property
    def email_ttl(self) -> timedelta:
        return timedelta(seconds=self.email_cache_ttl_s)

    @property
    def snapshot_ttl(self) -> timedelta:
        return timedelta(seconds=self.snapshot_cache_ttl_s)
