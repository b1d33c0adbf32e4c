"""Adversarial behaviour on demand: injected errors, latency, short pages, quotas."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from .errors import STATUS_BY_CODE, ApiError
from .quota import QuotaLimits, quota_error

_KEYS = {"errors", "latency_ms", "page_size_cap", "quota", "timestamp_digits", "require_auth"}
_RULE_KEYS = {"method", "status", "count", "after", "message"}


@dataclass
class ErrorRule:
    """Fail requests whose method id matches ``method`` (fnmatch: '*', 'conferenceRecords.*').

    The first ``after`` matching requests pass; the next ``count`` (None = all) fail.
    """

    method: str
    status: int
    count: int | None = 1
    after: int = 0
    message: str | None = None
    seen: int = 0
    fired: int = 0

    def take(self, method: str) -> ApiError | None:
        if not fnmatch.fnmatchcase(method, self.method):
            return None
        if self.count is not None and self.fired >= self.count:
            return None
        self.seen += 1
        if self.seen <= self.after:
            return None
        self.fired += 1
        if self.status == 429:
            error = quota_error("read", "user", None)
            if self.message:
                error.message = self.message
            return error
        return ApiError(self.status, self.message or _default_message(self.status))

    def to_dict(self) -> dict[str, Any]:
        remaining = None if self.count is None else self.count - self.fired
        return {"method": self.method, "status": self.status, "count": self.count, "after": self.after,
                "fired": self.fired, "remaining": remaining}


@dataclass
class Faults:
    errors: list[ErrorRule] = field(default_factory=list)
    latency_ms: float = 0.0
    page_size_cap: int | None = None
    quota: QuotaLimits = field(default_factory=QuotaLimits)
    timestamp_digits: int | None = None  # force 3/6/9 fractional digits in timestamps
    require_auth: bool = False  # 401 UNAUTHENTICATED without a bearer token

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        if not isinstance(data, dict):
            raise ValueError("faults must be a JSON object")
        unknown = set(data) - _KEYS
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)} (known: {sorted(_KEYS)})")
        faults = cls(
            errors=[_rule(r) for r in data.get("errors") or []],
            latency_ms=_number(data.get("latency_ms", 0), "latency_ms"),
            page_size_cap=_optional_int(data.get("page_size_cap"), "page_size_cap", minimum=1),
            quota=QuotaLimits.from_dict(data.get("quota") or {}),
            timestamp_digits=_optional_int(data.get("timestamp_digits"), "timestamp_digits", minimum=0),
            require_auth=bool(data.get("require_auth", False)),
        )
        if faults.timestamp_digits not in (None, 0, 3, 6, 9):
            raise ValueError("timestamp_digits must be 0, 3, 6 or 9")
        return faults

    def to_dict(self) -> dict[str, Any]:
        return {
            "errors": [r.to_dict() for r in self.errors],
            "latency_ms": self.latency_ms,
            "page_size_cap": self.page_size_cap,
            "quota": {k: v for k, v in vars(self.quota).items() if v is not None},
            "timestamp_digits": self.timestamp_digits,
            "require_auth": self.require_auth,
        }

    def take_error(self, method: str) -> ApiError | None:
        for rule in self.errors:
            error = rule.take(method)
            if error is not None:
                return error
        return None


def _default_message(status: int) -> str:
    return {
        500: "Internal error encountered.",
        503: "The service is currently unavailable.",
        504: "The request timed out. Please try again.",
        403: "The caller does not have permission",
        401: "Request had invalid authentication credentials.",
    }.get(status, f"Injected error {status}.")


def _rule(data: Any) -> ErrorRule:
    if not isinstance(data, dict):
        raise ValueError("each errors[] entry must be an object")
    unknown = set(data) - _RULE_KEYS
    if unknown:
        raise ValueError(f"unknown errors[] keys: {sorted(unknown)} (known: {sorted(_RULE_KEYS)})")
    status = data.get("status", 503)
    if status not in STATUS_BY_CODE or status < 400:
        raise ValueError(f"errors[].status must be one of {sorted(c for c in STATUS_BY_CODE if c >= 400)}")
    return ErrorRule(
        method=str(data.get("method", "*")),
        status=status,
        count=_optional_int(data.get("count", 1), "errors[].count", minimum=0),
        after=_optional_int(data.get("after", 0), "errors[].after", minimum=0) or 0,
        message=data.get("message"),
    )


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{name} must be a non-negative number")
    return float(value)


def _optional_int(value: Any, name: str, *, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum} or null")
    return value
