"""Keyset cursors and pages: round trips, foreign cursors refused, a cursor only when there is more."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from academy_common import pagination
from academy_common.pagination import BadCursor, decode, encode, page

MOMENT = datetime(2026, 11, 25, 10, 0, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize("key,kinds", [
    ((MOMENT, 42), (datetime, int)),
    ((7,), (int,)),
    ((0,), (int,)),
    ((2**63 - 1,), (int,)),
])
def test_cursor_round_trip(key, kinds):
    assert decode(encode(*key), *kinds) == key


def test_attendance_cursors_handed_out_before_the_move_still_work():
    assert decode("WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgMV0", datetime, int) == (
        datetime(2026, 1, 1, tzinfo=UTC), 1)


@pytest.mark.parametrize("cursor,kinds", [
    ("", (int,)), ("!!!", (int,)), ("bm9wZQ", (int,)),
    (encode(datetime(2026, 1, 1), 1), (datetime, int)),  # naive time
    ("WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgIjEiXQ", (datetime, int)),  # id is a string
    ("WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgOTIyMzM3MjAzNjg1NDc3NTgwOF0", (datetime, int)),  # 2**63
    (encode(MOMENT, 1), (int,)),  # a class cursor given to a directory list
    (encode(5), (datetime, int)),
    (encode(-1), (int,)),
    (encode(True), (int,)),
    (encode(MOMENT, 1), (int, int)),
    ("eyJhIjogMX0", (int,)),  # {"a": 1}
])
def test_foreign_cursors_are_refused(cursor, kinds):
    with pytest.raises(BadCursor):
        decode(cursor, *kinds)


@pytest.mark.parametrize("rows,limit,items,more", [
    ([], 2, [], False),
    ([1], 2, [1], False),
    ([1, 2], 2, [1, 2], False),  # exactly a page: no cursor to an empty page
    ([1, 2, 3], 2, [1, 2], True),
    ([1, 2], 1, [1], True),
])
def test_a_page_has_a_cursor_only_when_there_is_more(rows, limit, items, more):
    shown = page(rows, limit, lambda r: {"id": r}, lambda r: (r,))
    assert [i["id"] for i in shown.items] == items
    assert (shown.next_cursor is not None) == more
    if more:
        assert decode(shown.next_cursor, int) == (items[-1],)
    assert shown.as_json() == {"items": shown.items, "next_cursor": shown.next_cursor}


def test_the_documented_limits():
    assert (pagination.DEFAULT_LIMIT, pagination.MAX_LIMIT) == (100, 500)
