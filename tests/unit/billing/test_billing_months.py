"""Months in the academy's time zone: parsing, boundaries, DST, the next open month."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.months import Month, first_open_after

NEW_YORK, MADRID = ZoneInfo("America/New_York"), ZoneInfo("Europe/Madrid")
ZONES = [ZoneInfo(z) for z in ("UTC", "America/New_York", "Europe/Madrid", "Asia/Kolkata", "Pacific/Chatham",
                               "America/Santiago", "Australia/Lord_Howe")]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_parse_and_print():
    assert Month.parse("2026-01") == Month(2026, 1) and str(Month(2026, 1)) == "2026-01"
    for bad in ("2026-1", "2026-13", "2026-00", "26-01", "2026-01-01", " 2026-01", "1969-12", ""):
        with pytest.raises(ValueError):
            Month.parse(bad)


def test_next_crosses_the_year_and_months_order():
    assert Month(2025, 12).next() == Month(2026, 1) and Month(2025, 1).next() == Month(2025, 2)
    assert Month(2025, 12) < Month(2026, 1) < Month(2026, 2)


def test_bounds_follow_local_midnight_across_dst():
    # New York: EST (UTC-5) on March 1, EDT (UTC-4) on April 1.
    assert Month(2025, 3).bounds(NEW_YORK) == (utc(2025, 3, 1, 5), utc(2025, 4, 1, 4))
    # Madrid: CEST (UTC+2) on October 1, CET (UTC+1) on November 1.
    assert Month(2025, 10).bounds(MADRID) == (utc(2025, 9, 30, 22), utc(2025, 10, 31, 23))


@pytest.mark.parametrize("zone,last_2330_utc,month", [
    (NEW_YORK, utc(2025, 4, 1, 3, 30), Month(2025, 3)),     # Mar 31 23:30 EDT
    (NEW_YORK, utc(2026, 1, 1, 4, 30), Month(2025, 12)),    # Dec 31 23:30 EST
    (MADRID, utc(2025, 3, 31, 21, 30), Month(2025, 3)),     # Mar 31 23:30 CEST
    (MADRID, utc(2025, 10, 31, 22, 30), Month(2025, 10)),   # Oct 31 23:30 CET
])
def test_2330_on_the_last_local_day_is_that_month(zone, last_2330_utc, month):
    start, end = month.bounds(zone)
    assert start <= last_2330_utc < end <= last_2330_utc + timedelta(hours=1)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
       st.sampled_from(ZONES))
def test_every_instant_is_inside_the_bounds_of_its_local_month(moment, zone):
    local = moment.astimezone(zone)
    month = Month(local.year, local.month)
    start, end = month.bounds(zone)
    assert start <= moment < end
    assert month.next().bounds(zone)[0] == end  # months tile time: no gap, no overlap


def test_first_open_after_skips_closed_months():
    closed = frozenset({Month(2025, 3), Month(2025, 4), Month(2025, 6)})
    assert first_open_after(Month(2025, 3), closed) == Month(2025, 5)
    assert first_open_after(Month(2025, 5), closed) == Month(2025, 7)
    assert first_open_after(Month(2025, 12), frozenset()) == Month(2026, 1)
