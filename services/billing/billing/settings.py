"""Billing settings: the shared ones plus the report page sizes and the close jobs' pace."""
from __future__ import annotations

from pydantic import Field

from academy_common.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = Field(default=8083, ge=0, le=65535)
    report_page_size: int = Field(default=100, ge=1, le=10_000, description=(
        "billing: statements (families or teachers) per page of a JSON month report when no `limit` is given"))
    report_max_page_size: int = Field(default=1000, ge=1, le=10_000, description=(
        "billing: the largest `limit` of a JSON month report"))
    export_chunk_size: int = Field(default=500, ge=1, le=10_000, description=(
        "billing: statements per database round trip when closing a month"))
    close_job_poll_s: float = Field(default=1.0, gt=0, le=3600, description=(
        "billing: how often each replica looks for a close job to run (one requested, or left by a stopped replica)"))
    close_job_progress_s: float = Field(default=0.5, gt=0, le=60, description=(
        "billing: how often a running close job writes its lines_done"))
