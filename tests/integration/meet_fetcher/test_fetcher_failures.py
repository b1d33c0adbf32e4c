"""Failures: retried within the budget, else meet.fetch_failed; the request is acked, never lost."""
from __future__ import annotations

import aio_pika

from meet_fetcher.app import QUEUE, build
from tests.integration.meet_api.meet_proxy import MeetProxy
from tests.integration.meet_fetcher.fetcher_support import Observer, fetch_request, people
from tests.support.contracts import assert_conforms
from tests.support.services import running
from tests.support.waiting import eventually, queue_depth

IN_CALL = {"conferences": [{"space": "spaces/f1", "id": "c1", "start": "-10m", "participants": [
    {"kind": "signedin", "user_id": "2001", "email": "kim@school.org", "display_name": "Kim"}]}]}


async def assert_request_queue_drained(amqp_url: str, settings) -> None:
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        name = settings.queue_prefix + QUEUE
        await eventually(lambda: _depths_zero(connection, name))
    finally:
        await connection.close()


async def _depths_zero(connection, name: str) -> bool:
    return all([await queue_depth(connection, q) == 0 for q in (name, f"{name}.retry", f"{name}.dlq")])


async def test_quota_errors_are_retried_then_the_snapshot_is_published(emu, publish, observer):
    emu.load(IN_CALL)
    emu.set_faults({"errors": [{"method": "conferenceRecords.participants.list", "status": 429, "count": 2}]})
    await publish(fetch_request("spaces/f1"))
    event = await observer.next()
    assert event.type == "meet.participants.fetched"
    assert_conforms(event)
    assert people(event)["Kim"]["email"] == "kim@school.org"
    assert emu.stats()["by_method_status"]["conferenceRecords.participants.list"] == {"429": 2, "200": 1}


async def test_a_persistent_server_error_becomes_fetch_failed_and_the_request_is_acked(
        emu, publish, observer, fetcher, amqp_url):
    emu.load(IN_CALL)
    emu.set_faults({"errors": [{"method": "conferenceRecords.participants.list", "status": 500, "count": None}]})
    request = fetch_request("spaces/f1", reason="final")
    await publish(request)
    event = await observer.next()

    assert event.type == "meet.fetch_failed"
    assert_conforms(event)
    data = event.data
    assert (data["class_id"], data["request_id"], data["reason"]) == (7, request.id, "final")
    assert data["error"]["kind"] == "server" and data["error"]["status"] == 500
    assert data["retryable"] is True and data["failed_at"].endswith("Z")
    tries = emu.stats()["by_method_status"]["conferenceRecords.participants.list"]["500"]
    assert 1 < tries <= fetcher.settings.meet_api_retry_attempts  # backed off within the budget, then gave up
    await assert_request_queue_drained(amqp_url, fetcher.settings)
    assert observer.empty()  # no partial snapshot besides the failure


async def test_a_client_error_is_not_retried(emu, publish, observer):
    emu.load(IN_CALL)
    emu.set_faults({"errors": [{"method": "conferenceRecords.list", "status": 403, "count": None}]})
    await publish(fetch_request("spaces/f1"))
    event = await observer.next()
    assert event.type == "meet.fetch_failed"
    assert event.data["error"]["kind"] == "auth" and event.data["retryable"] is False
    assert emu.stats()["by_method"]["conferenceRecords.list"] == 1


async def test_a_space_google_does_not_know_is_not_found(emu, publish, observer):
    await publish(fetch_request(None, meeting_code="zzz-zzzz-zzz"))
    event = await observer.next()
    assert event.type == "meet.fetch_failed"
    assert event.data["error"]["kind"] == "not_found" and event.data["error"]["status"] == 404


async def test_a_malformed_answer_becomes_fetch_failed_malformed(emu, settings_for, amqp_url):
    emu.load(IN_CALL)

    def drop_start_times(body: dict) -> dict:
        for participant in body.get("participants", []):
            participant.pop("earliestStartTime", None)
        return body

    async with MeetProxy(emu.url) as proxy:
        proxy.rewrite(r"/participants$", drop_start_times)
        settings = settings_for(meet_api_endpoint=proxy.url, people_api_endpoint=proxy.url)
        async with running(build, settings) as fetcher, Observer(amqp_url, settings.bus_exchange) as observer:
            bus = fetcher.bus
            await bus.publish(fetch_request("spaces/f1"))
            event = await observer.next()
            assert event.type == "meet.fetch_failed"
            assert event.data["error"]["kind"] == "malformed" and event.data["retryable"] is False
            assert "earliestStartTime" in event.data["error"]["message"]
            # not retried: a broken answer does not mend itself within seconds
            assert sum(c.path.endswith("/participants") for c in proxy.calls) == 1
            await assert_request_queue_drained(amqp_url, settings)


async def test_an_invalid_request_goes_to_the_dead_letter_queue(publish, fetcher, amqp_url, observer):
    await publish(fetch_request("spaces/f1", class_id=8, window_start="not a time"))
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        dlq = fetcher.settings.queue_prefix + QUEUE + ".dlq"
        await eventually(lambda: _depth_is(connection, dlq, 1))
    finally:
        await connection.close()
    assert observer.empty()


async def _depth_is(connection, name: str, depth: int) -> bool:
    return await queue_depth(connection, name) == depth
