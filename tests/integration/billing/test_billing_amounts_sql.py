"""The per-line amount as the database computes it: round half-up, integer cents, no overflow."""
from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from math import floor

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from academy_common.contracts import MAX_SECONDS
from billing.rates import MAX_RATE_CENTS

START = datetime(2025, 3, 10, 15, tzinfo=UTC)


def half_up(seconds: int, rate_cents: int) -> int:
    """The rule, exactly: round(seconds × rate / 3600) with halves going up."""
    return floor(Fraction(seconds * rate_cents, 3600) + Fraction(1, 2))


async def amounts(pool, pairs: list[tuple[int, int]]) -> list[int]:
    """Store one line per pair with that rate, read back the amount the table computed."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            """INSERT INTO attendance_lines (class_id, person_key, party, party_id, billable_seconds, billed_seconds,
                   final, corrected, version, scheduled_start, month, rate_cents, currency)
               VALUES ($1, 'student:1', 'family', 1, $2, $2, true, false, 1, $4, '2025-03-01', $3, 'EUR')""",
            [(i + 1, s, r, START) for i, (s, r) in enumerate(pairs)])
        rows = await conn.fetch("SELECT amount_cents FROM attendance_lines ORDER BY class_id")
        await conn.execute("DELETE FROM attendance_lines")
    return [r["amount_cents"] for r in rows]


EXACT = [  # (seconds, hourly rate in cents, amount in cents)
    (1, 1800, 1),        # exactly 0.5 → 1
    (2, 900, 1),         # exactly 0.5 → 1
    (3, 1800, 2),        # exactly 1.5 → 2
    (5400, 1, 2),        # exactly 1.5 → 2
    (1799, 1, 0),        # 0.4997 → 0
    (1801, 1, 1),        # 0.5003 → 1
    (3300, 2500, 2292),  # 2291.67 → 2292
    (3600, 2500, 2500),
    (0, 2500, 0),
    (3600, 0, 0),
    (MAX_SECONDS, MAX_RATE_CENTS, MAX_SECONDS * MAX_RATE_CENTS // 3600),  # no bigint overflow
]


async def test_exact_halves_round_up(service):
    expected = [amount for _, _, amount in EXACT]
    assert expected == [half_up(s, r) for s, r, _ in EXACT]
    assert await amounts(service.pool, [(s, r) for s, r, _ in EXACT]) == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, MAX_SECONDS), st.integers(0, MAX_RATE_CENTS)), min_size=1, max_size=40))
async def test_every_amount_is_round_half_up_in_integer_cents(service, pairs):
    computed = await amounts(service.pool, pairs)
    assert computed == [half_up(s, r) for s, r in pairs]
    assert all(type(a) is int for a in computed)
