"""A student moved to another family, and corrections shown on the bill line (reason, override)."""
from __future__ import annotations

from tests.integration.billing.billing_support import MARCH, families, family, klass, log, set_rate, student
from tests.integration.billing.test_billing_periods import close


async def _smith_and_jones(api, feed) -> None:
    await feed(family(2, "Smith"), family(9, "Jones"), student(3, 2, "Bo"), klass(10, MARCH),
               log(10, MARCH, seconds=3600))
    await set_rate(api, "families", 2, 2000, "2025-01-01")
    await set_rate(api, "families", 9, 3000, "2025-01-01")


def _bills(body: dict) -> dict[int, list[tuple]]:
    return {f["family_id"]: [(line["kind"], line["billable_seconds"], line["amount_cents"]) for line in f["lines"]]
            for f in body["families"]}


async def test_in_an_open_month_the_line_moves_to_the_new_family(api, feed):
    await _smith_and_jones(api, feed)
    await feed(student(3, 9, "Bo", version=2), log(10, MARCH, seconds=3600, family_id=9, version=2))
    assert _bills(await families(api, 2025, 3)) == {9: [("line", 3600, 3000)]}


async def test_in_a_closed_month_the_old_family_is_credited_and_the_new_one_charged_next_month(api, feed):
    await _smith_and_jones(api, feed)
    await close(api, "2025-03")
    await feed(student(3, 9, "Bo", version=2), log(10, MARCH, seconds=3600, family_id=9, version=2))
    assert _bills(await families(api, 2025, 3)) == {2: [("line", 3600, 2000)]}  # frozen
    assert _bills(await families(api, 2025, 4)) == {2: [("adjustment", -3600, -2000)],
                                                   9: [("adjustment", 3600, 3000)]}


async def test_a_line_shows_the_correction_reason_and_an_override_above_attended(api, feed):
    await _smith_and_jones(api, feed)
    await feed(log(10, MARCH, seconds=3600, attended=1800, version=2, corrected=True,
                   correction_reason="connection dropped"))
    [line] = (await families(api, 2025, 3))["families"][0]["lines"]
    assert (line["corrected"], line["billable_override"], line["correction_reason"]) == \
           (True, True, "connection dropped")
    await close(api, "2025-03")
    await feed(log(10, MARCH, seconds=3000, attended=1800, version=3, corrected=True, correction_reason="agreed"))
    [adjustment] = (await families(api, 2025, 4))["families"][0]["lines"]
    assert (adjustment["kind"], adjustment["amount_cents"], adjustment["billable_override"],
            adjustment["correction_reason"]) == ("adjustment", -333, True, "agreed")
