"""Billing months: a calendar month in the academy's time zone, and its UTC boundaries."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

MIN_YEAR, MAX_YEAR = 1970, 9998
_TEXT = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)  # int() would also read "٢٠٢٦"


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    def __post_init__(self) -> None:
        if not MIN_YEAR <= self.year <= MAX_YEAR:
            raise ValueError(f"year must be between {MIN_YEAR} and {MAX_YEAR}")
        if not 1 <= self.month <= 12:
            raise ValueError("month must be between 1 and 12")

    @classmethod
    def parse(cls, text: str) -> Month:
        """`YYYY-MM` (as in the period paths) → Month; ValueError otherwise."""
        match = _TEXT.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a month like 2026-11")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def from_date(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) of the month in UTC: local midnight of the 1st to the next month's."""
        following = self.next()
        start = datetime(self.year, self.month, 1, tzinfo=tz)
        end = datetime(following.year, following.month, 1, tzinfo=tz)
        return start.astimezone(UTC), end.astimezone(UTC)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def first_open_after(month: Month, closed: frozenset[Month]) -> Month:
    """The earliest month after `month` that is not closed: where its corrections go."""
    candidate = month.next()
    while candidate in closed:
        candidate = candidate.next()
    return candidate
