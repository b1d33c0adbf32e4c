"""Billing settings: the shared ones plus the report page sizes."""
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
