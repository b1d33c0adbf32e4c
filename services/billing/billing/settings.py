"""Billing settings: the shared ones plus the report page sizes."""
from __future__ import annotations

from pydantic import Field

from academy_common.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = Field(default=8083, ge=0, le=65535)
    # Statements (families or teachers) per page of a JSON month report.
    report_page_size: int = Field(default=100, ge=1, le=10_000)
    report_max_page_size: int = Field(default=1000, ge=1, le=10_000)
    # Statements fetched per database round trip while streaming CSV or closing a month.
    export_chunk_size: int = Field(default=500, ge=1, le=10_000)
