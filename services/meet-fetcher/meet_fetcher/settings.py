"""meet-fetcher settings (environment variables; defaults from docs/architecture.md)."""
from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from academy_common.meet_api import MeetApiSettings
from academy_common.settings import ServiceSettings


class Settings(ServiceSettings, MeetApiSettings):
    http_port: int = Field(default=8084, ge=0, le=65535)
    meet_reads_per_minute: int = Field(default=6000, ge=1, description=(
        "the fetcher fleet's Meet read budget, enforced for all replicas together in PostgreSQL (Google's "
        "quota: 6000/project; the k8s base leaves 10 % for the scheduler and operators)"))
    meet_reads_per_user_per_minute: int = Field(default=600, ge=1, description=(
        "the same per impersonated organizer (Google: 600)"))
    fetch_concurrency: int = Field(default=64, ge=1, le=1000, description=(
        "fetches one replica works on at once (its queue prefetch); `MEET_API_THREADS` bounds the calls"))
    fetch_incremental: bool = Field(default=True, description=(
        "false: fetch everything every time instead of only what changed (benchmarks)"))
    email_cache_ttl_s: float = Field(default=86400.0, gt=0, description=(
        'how long a looked-up email (or "no email") is cached, shared by every replica'))
    snapshot_cache_ttl_s: float = Field(default=8 * 86400.0, gt=0, description=(
        "how long a class's cached participant records are kept; keep it above `RETRY_WINDOW_DAYS`"))
    cache_prune_interval_s: float = Field(default=3600.0, gt=0, description="how often expired cache rows are deleted")

    @property
    def email_ttl(self) -> timedelta:
        return timedelta(seconds=self.email_cache_ttl_s)

    @property
    def snapshot_ttl(self) -> timedelta:
        return timedelta(seconds=self.snapshot_cache_ttl_s)
