"""Per-minute request quotas (sliding 60 s window, wall time), per project and per user."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from .errors import ApiError

# bucket → (quota metric, service) as Google names them in its 429 messages
_BUCKETS = {
    "read": ("Read requests", "meet.googleapis.com"),
    "write": ("Write requests", "meet.googleapis.com"),
    "people": ("Read requests", "people.googleapis.com"),
}


@dataclass(frozen=True)
class QuotaLimits:
    """Requests per minute; None = unlimited. ``per_*`` limit Meet reads (GET)."""

    per_user_per_minute: int | None = None
    per_project_per_minute: int | None = None
    write_per_user_per_minute: int | None = None
    write_per_project_per_minute: int | None = None
    people_per_user_per_minute: int | None = None
    people_per_project_per_minute: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuotaLimits:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown quota keys: {sorted(unknown)} (known: {sorted(known)})")
        for key, value in data.items():
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ValueError(f"quota.{key} must be a non-negative integer or null")
        return cls(**data)

    def limit(self, bucket: str, scope: str) -> int | None:
        prefix = "" if bucket == "read" else f"{bucket}_"
        return getattr(self, f"{prefix}per_{scope}_per_minute")


class QuotaTracker:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic, window_s: float = 60.0) -> None:
        self._monotonic = monotonic
        self._window = window_s
        self._hits: dict[tuple[str, str, str], deque[float]] = {}

    def reset(self) -> None:
        self._hits.clear()

    def check(self, bucket: str, user: str, limits: QuotaLimits) -> ApiError | None:
        """Count one request; return the 429 to send instead if it would exceed a limit."""
        now = self._monotonic()
        keys = [("project", (bucket, "project", "-")), ("user", (bucket, "user", user))]
        for scope, key in keys:
            limit = limits.limit(bucket, scope)
            if limit is None:
                continue
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self._window:
                hits.popleft()
            if len(hits) >= limit:
                return quota_error(bucket, scope, limit)
        for _, key in keys:
            self._hits.setdefault(key, deque()).append(now)
        return None


def quota_error(bucket: str, scope: str, limit: int | None) -> ApiError:
    metric, service = _BUCKETS.get(bucket, _BUCKETS["read"])
    limit_name = f"{metric} per minute" + (" per user" if scope == "user" else "")
    consumer = "projects/000000000000"
    return ApiError(
        429,
        f"Quota exceeded for quota metric '{metric}' and limit '{limit_name}' of service "
        f"'{service}' for consumer 'project_number:000000000000'.",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
                "metadata": {
                    "service": service,
                    "consumer": consumer,
                    "quota_metric": f"{service}/{bucket}_requests",
                    "quota_limit": limit_name,
                    "quota_limit_value": str(limit) if limit is not None else "",
                },
            }
        ],
    )
