"""Console settings: the shared ones, where the three APIs are, the session key, page knobs."""
from __future__ import annotations

import base64
import binascii

from pydantic import Field, field_validator

from academy_common.settings import ServiceSettings


class Settings(ServiceSettings):
    http_port: int = Field(default=8080, ge=0, le=65535)
    scheduler_url: str = Field(default="http://127.0.0.1:8081", description=(
        "console: the scheduler API the console calls with the signed-in user's token"))
    attendance_url: str = Field(default="http://127.0.0.1:8082", description=(
        "console: the attendance API the console calls with the signed-in user's token"))
    billing_url: str = Field(default="http://127.0.0.1:8083", description=(
        "console: the billing API the console calls with the signed-in user's token"))
    console_session_key: str = Field(default="", description=(
        "console: the Fernet key (32 url-safe base64 bytes, a secret) that encrypts the session cookie; empty: a "
        "random key per process, so sessions end with a restart and replicas need one shared key"))
    console_session_max_age_s: int = Field(default=12 * 3600, ge=60, description=(
        "console: a signed-in session lasts this long (the cookie's Max-Age)"))
    console_cookie_secure: bool = Field(default=False, description=(
        "console: send the session cookie over HTTPS only (set true behind TLS)"))
    upstream_timeout_s: float = Field(default=10.0, gt=0, description=(
        "console: the longest wait for one call to the scheduler, attendance or billing API"))
    teacher_missing_after_s: float = Field(default=300.0, ge=0, description=(
        "console: the Today page flags a class whose teacher has not joined this long after its start"))
    today_refresh_s: float = Field(default=10.0, ge=1, description=(
        "console: how often the Today page refreshes its board (htmx polling)"))
    console_page_size: int = Field(default=50, ge=1, le=500, description=(
        "console: rows per page of the console's lists (classes, directory, unmatched, statements)"))

    @field_validator("console_session_key")
    @classmethod
    def _fernet_key(cls, value: str) -> str:
        if value:
            try:
                if len(base64.urlsafe_b64decode(value.encode())) != 32:
                    raise ValueError
            except (ValueError, binascii.Error):
                raise ValueError("not a Fernet key (32 url-safe base64 bytes: "
                                 "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')") from None
        return value
