"""Adversarial behaviour on demand: injected errors, malformed answers, latency, short pages, quotas."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from .errors import STATUS_BY_CODE, ApiError
from .quota import QuotaLimits, quota_error

_KEYS = {"errors", "malformed", "latency_ms", "page_size_cap", "quota", "timestamp_digits", "require_auth"}
_RULE_KEYS = {"method", "status", "count", "after", "message"}
_MALFORMED_KEYS = {"method", "kind", "count", "after"}
# What a malformed answer looks like (see malform()); Google never sends any of these.
MALFORMED_KINDS = ("no_name", "no_identity", "unknown_kind", "bad_timestamp", "naive_timestamp",
                   "page_token_loop", "not_json")
LOOP_TOKEN = "emulator-page-token-loop"


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
        if not _fires(self, method):
            return None
        if self.status == 429:
            error = quota_error("read", "user", None)
            if self.message:
                error.message = self.message
            return error
        return ApiError(self.status, self.message or _default_message(self.status))

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "status": self.status, **_counts(self)}


@dataclass
class MalformedRule:
    """Spoil the 200 answers of requests whose method id matches ``method`` (counted like ErrorRule)."""

    method: str
    kind: str
    count: int | None = 1
    after: int = 0
    seen: int = 0
    fired: int = 0

    def take(self, method: str) -> bool:
        return _fires(self, method)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "kind": self.kind, **_counts(self)}


def _fires(rule: ErrorRule | MalformedRule, method: str) -> bool:
    """Whether the rule spoils this request: its method matches, the first ``after`` matching
    requests have passed, and it has fired fewer than ``count`` times (None: no end)."""
    if not fnmatch.fnmatchcase(method, rule.method):
        return False
    if rule.count is not None and rule.fired >= rule.count:
        return False
    rule.seen += 1
    if rule.seen <= rule.after:
        return False
    rule.fired += 1
    return True


def _counts(rule: ErrorRule | MalformedRule) -> dict[str, Any]:
    remaining = None if rule.count is None else rule.count - rule.fired
    return {"count": rule.count, "after": rule.after, "fired": rule.fired, "remaining": remaining}


def malform(body: dict[str, Any], kind: str, page_token: str | None) -> dict[str, Any] | bytes:
    """The answer ``body`` spoilt as ``kind`` says; the items of a list answer, or the resource itself."""
    if kind == "not_json":
        return b"<html><body>Service temporarily unavailable</body></html>"
    if kind == "page_token_loop":  # every page, the first included, says the same page comes next
        return {**body, "nextPageToken": page_token or LOOP_TOKEN}
    lists = [value for value in body.values() if isinstance(value, list)]
    items = [item for value in lists for item in value if isinstance(item, dict)] if lists else [body]
    for item in items:
        if kind == "no_name":
            item.pop("name", None)
        elif kind in ("no_identity", "unknown_kind"):
            identity = next((item.pop(k) for k in ("signedinUser", "anonymousUser", "phoneUser") if k in item), None)
            if kind == "unknown_kind" and identity is not None:
                item["robotUser"] = identity
        else:
            for key in [k for k in item if k.endswith("Time")]:
                item[key] = "yesterday" if kind == "bad_timestamp" else item[key].rstrip("Z")
    return body


@dataclass
class Faults:
    errors: list[ErrorRule] = field(default_factory=list)
    malformed: list[MalformedRule] = field(default_factory=list)
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
            malformed=[_malformed_rule(r) for r in data.get("malformed") or []],
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
            "malformed": [r.to_dict() for r in self.malformed],
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

    def take_malformed(self, method: str) -> str | None:
        """The kind of damage to do to this answer, if a rule says so."""
        for rule in self.malformed:
            if rule.take(method):
                return rule.kind
        return None

    @property
    def loops_pages(self) -> bool:
        return any(rule.kind == "page_token_loop" for rule in self.malformed)


def _default_message(status: int) -> str:
    return {
        500: "Internal error encountered.",
        503: "The service is currently unavailable.",
        504: "The request timed out. Please try again.",
        403: "The caller does not have permission",
        401: "Request had invalid authentication credentials.",
    }.get(status, f"Injected error {status}.")


def _rule(data: Any) -> ErrorRule:
    selector = _selector(data, "errors", _RULE_KEYS)
    status = data.get("status", 503)
    if status not in STATUS_BY_CODE or status < 400:
        raise ValueError(f"errors[].status must be one of {sorted(c for c in STATUS_BY_CODE if c >= 400)}")
    return ErrorRule(status=status, message=data.get("message"), **selector)


def _malformed_rule(data: Any) -> MalformedRule:
    selector = _selector(data, "malformed", _MALFORMED_KEYS)
    if data.get("kind") not in MALFORMED_KINDS:
        raise ValueError(f"malformed[].kind must be one of {', '.join(MALFORMED_KINDS)}")
    return MalformedRule(kind=data["kind"], **selector)


def _selector(data: Any, rules: str, known: set[str]) -> dict[str, Any]:
    """What every rule of the `rules` list says about which requests it spoils: method, count, after."""
    if not isinstance(data, dict):
        raise ValueError(f"each {rules}[] entry must be an object")
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {rules}[] keys: {sorted(unknown)} (known: {sorted(known)})")
    return {
        "method": str(data.get("method", "*")),
        "count": _optional_int(data.get("count", 1), f"{rules}[].count", minimum=0),
        "after": _optional_int(data.get("after", 0), f"{rules}[].after", minimum=0) or 0,
    }


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
