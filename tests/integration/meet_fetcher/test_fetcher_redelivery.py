"""A redelivered request publishes an identical snapshot under the identical event id."""
from __future__ import annotations

from academy_common.events import deterministic_id
from tests.integration.meet_fetcher.fetcher_support import fetch_request, without_fetch_time

CLASS = {"conferences": [{"space": "spaces/re", "id": "c1", "start": "-20m", "participants": [
    {"kind": "signedin", "user_id": "4001", "email": "lee@school.org", "display_name": "Lee",
     "sessions": [{"join": "-19m", "leave": "-10m"}, {"join": "-8m", "leave": None}]},
    {"kind": "phone", "display_name": "Caller"}]}]}


async def test_the_same_request_twice_gives_the_same_event_id_and_snapshot(emu, publish, observer):
    emu.load(CLASS)
    request = fetch_request("spaces/re")
    await publish(request)
    first = await observer.next()
    await publish(request)  # what the broker does after a crash before the ack
    second = await observer.next()

    assert first.id == second.id == deterministic_id("participants", request.id)
    assert without_fetch_time(first) == without_fetch_time(second)
    assert first.data["request_id"] == request.id


async def test_different_requests_get_different_event_ids(emu, publish, observer):
    emu.load(CLASS)
    await publish(fetch_request("spaces/re"))
    await publish(fetch_request("spaces/re"))
    first, second = await observer.answers(2)
    assert first.id != second.id
    assert without_fetch_time(first) | {"request_id": None} == without_fetch_time(second) | {"request_id": None}
