"""Hourly rates with effective dates: what a rate entry is and how its start is read."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from billing.months import MAX_YEAR, MIN_YEAR

Party = Literal["family", "teacher"]
PARTIES: tuple[Party, ...] = ("family", "teacher")
MAX_RATE_CENTS = 1_000_000_000  # 10 million an hour: far above any real rate, keeps bigint math safe

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class Rate:
    effective_from: datetime
    hourly_rate_cents: int
    currency: str


def parse_effective_from(text: str, tz: ZoneInfo) -> datetime:
    """An RFC 3339 date-time with its offset, or a bare date meaning local midnight; in UTC.

    A date-time without an offset is refused: it would silently depend on the server's zone.
    """
    text = text.strip()
    if _DATE.match(text):
        day = date.fromisoformat(text)
        moment = datetime(day.year, day.month, day.day, tzinfo=tz)
    elif _DATETIME.match(text):
        moment = datetime.fromisoformat(_trim_fraction(text.replace("z", "Z").replace("Z", "+00:00")))
    else:
        raise ValueError("use an RFC 3339 date-time with an offset (2026-11-01T00:00:00+01:00) "
                         "or a date (2026-11-01)")
    # Billing's years: the ends of Python's range overflow in UTC or come back from PostgreSQL naive.
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return moment.astimezone(UTC)


def _trim_fraction(text: str) -> str:
    """Python reads at most 6 fractional digits; RFC 3339 allows more (dropped, not rounded)."""
    return re.sub(r"(\.\d{6})\d+", r"\1", text)
