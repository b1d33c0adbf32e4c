"""Taking a month's rows (ordered by party) statement chunk by statement chunk, whatever the fetch batches."""
from __future__ import annotations

import pytest

from billing.reports import RowsAhead


async def batches_of(party_ids: list[int], size: int):
    for start in range(0, len(party_ids), size):
        yield [{"party_id": p} for p in party_ids[start:start + size]]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 100])
@pytest.mark.parametrize(("rows", "lasts", "expected"), [
    ([1, 1, 2, 3, 3, 3, 7], [1, 3, 9], [[1, 1], [2, 3, 3, 3], [7]]),
    ([1, 1, 2, 3, 3, 3, 7], [2, 5, 6, 7], [[1, 1, 2], [3, 3, 3], [], [7]]),
    ([5, 5], [1, 4, 5, 6], [[], [], [5, 5], []]),  # parties with adjustments only: no rows
    ([], [1, 2], [[], []]),
])
async def test_each_chunk_gets_exactly_its_parties_rows(size, rows, lasts, expected):
    ahead = RowsAhead(batches_of(rows, size))
    assert [[r["party_id"] for r in await ahead.through(last)] for last in lasts] == expected
