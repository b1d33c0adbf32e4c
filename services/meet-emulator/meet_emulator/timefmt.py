"""RFC 3339 timestamps the way Google's JSON renders them, and scenario time specs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_RFC3339 = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})"
    r"(?:\.(?P<frac>\d{1,9}))?(?P<tz>[Zz]|[+-]\d{2}:\d{2})$"
)
_OFFSET_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_OFFSET = re.compile(r"^[+-]\s*(?:\d+(?:\.\d+)?\s*(?:ms|s|m|h|d)\s*)+$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_timestamp(text: str, *, require_tz: bool = True) -> datetime:
    """Parse RFC 3339 (up to 9 fractional digits, 'Z' or an offset) into an aware UTC datetime.

    Nanoseconds beyond microsecond precision are truncated. Raises ValueError.
    """
    text = text.strip()
    m = _RFC3339.match(text)
    if m is None:
        if require_tz:
            raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
        naive = datetime.fromisoformat(text)
        if naive.tzinfo is None:
            return naive.replace(tzinfo=UTC)
        return naive.astimezone(UTC)
    frac = (m["frac"] or "").ljust(6, "0")[:6]
    tz = "+00:00" if m["tz"] in ("Z", "z") else m["tz"]
    return datetime.fromisoformat(f"{m['date']}T{m['time']}.{frac}{tz}").astimezone(UTC)


def format_timestamp(value: datetime, digits: int | None = None) -> str:
    """Render like protobuf JSON: UTC, 'Z', and 0/3/6 fractional digits as needed.

    ``digits`` forces 3, 6 or 9 fractional digits (9 pads microseconds with zeros).
    """
    value = value.astimezone(UTC)
    base = value.strftime("%Y-%m-%dT%H:%M:%S")
    micros = value.microsecond
    if digits is None:
        if micros == 0:
            return base + "Z"
        digits = 3 if micros % 1000 == 0 else 6
    if digits == 0:
        return base + "Z"
    frac = f"{micros:06d}000"[:digits]
    return f"{base}.{frac}Z"


def parse_offset(text: str) -> timedelta:
    """'+90s', '-5m', '+1h30m', '+250ms', '+1d' → timedelta. Raises ValueError."""
    compact = text.strip()
    if not _OFFSET.match(compact):
        raise ValueError(f"not a relative offset: {text!r} (use e.g. '+90s', '-5m', '+1h30m')")
    sign = -1.0 if compact.startswith("-") else 1.0
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in _OFFSET_PART.findall(compact))
    return timedelta(seconds=sign * seconds)


def resolve_time(spec: object, base: datetime) -> datetime | None:
    """A scenario time: None, 'now', a relative offset, seconds (number) or absolute RFC 3339."""
    if spec is None:
        return None
    if isinstance(spec, bool):
        raise ValueError(f"not a time: {spec!r}")
    if isinstance(spec, (int, float)):
        return base + timedelta(seconds=float(spec))
    if isinstance(spec, datetime):
        return spec.replace(tzinfo=UTC) if spec.tzinfo is None else spec.astimezone(UTC)
    if not isinstance(spec, str):
        raise ValueError(f"not a time: {spec!r}")
    text = spec.strip()
    if text.lower() == "now":
        return base
    if text[:1] in "+-":
        return base + parse_offset(text)
    return parse_timestamp(text, require_tz=False)
