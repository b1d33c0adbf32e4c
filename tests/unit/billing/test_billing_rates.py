"""Reading a rate's effective_from: RFC 3339 with an offset, or a local date."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from billing.rates import parse_effective_from

MADRID = ZoneInfo("Europe/Madrid")


@pytest.mark.parametrize("text,expected", [
    ("2025-03-01", datetime(2025, 2, 28, 23, tzinfo=UTC)),       # local midnight (CET)
    ("2025-07-01", datetime(2025, 6, 30, 22, tzinfo=UTC)),       # local midnight (CEST)
    ("2025-03-01T00:00:00Z", datetime(2025, 3, 1, tzinfo=UTC)),
    ("2025-03-01t00:00:00z", datetime(2025, 3, 1, tzinfo=UTC)),
    ("2025-03-01T08:30:00+02:00", datetime(2025, 3, 1, 6, 30, tzinfo=UTC)),
    ("2025-03-01T08:30-05:00", datetime(2025, 3, 1, 13, 30, tzinfo=UTC)),
    ("2025-03-01 00:00:00.123456789Z", datetime(2025, 3, 1, 0, 0, 0, 123456, tzinfo=UTC)),
    (" 2025-03-01 ", datetime(2025, 2, 28, 23, tzinfo=UTC)),
])
def test_accepted_forms(text, expected):
    parsed = parse_effective_from(text, MADRID)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize("text", ["2025-03-01T00:00:00", "2025-03-01T00:00", "yesterday", "2025-02-30",
                                  "2025-03-01T25:00:00Z", "2025-3-1", "", "2025-03-01T00:00:00+2", "1740787200",
                                  "9999-12-31T23:59:59-05:00"])
def test_refused_forms(text):
    with pytest.raises(ValueError):
        parse_effective_from(text, MADRID)


def test_a_date_before_year_one_in_utc_is_refused_not_crashed():
    with pytest.raises(ValueError):
        parse_effective_from("0001-01-01", ZoneInfo("Asia/Tokyo"))


@pytest.mark.parametrize("text", ["0001-01-01", "9999-12-31", "0001-01-01T00:00:00+01:00", "1969-12-31T23:59:59Z",
                                  "9999-01-01T00:00:00Z"])
def test_years_outside_billings_are_refused(text):
    """Python's first instant comes back from PostgreSQL naive; its last ones overflow in UTC."""
    with pytest.raises(ValueError, match="year"):
        parse_effective_from(text, ZoneInfo("UTC"))


def test_the_first_and_last_billing_years_are_accepted():
    assert parse_effective_from("1970-01-01", MADRID) == datetime(1969, 12, 31, 23, tzinfo=UTC)
    assert parse_effective_from("9998-12-31T23:59:59Z", MADRID) == datetime(9998, 12, 31, 23, 59, 59, tzinfo=UTC)
