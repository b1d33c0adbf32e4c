"""Manual syncs and the status page over HTTP."""
from __future__ import annotations

from datetime import timedelta

from tests.integration.scheduler.sched_support import T0, settle, tick_at
from tests.support.services import ADMIN, VIEWER

START = T0 + timedelta(hours=1)


async def _sync(http, class_id, headers=ADMIN):
    return await http.post(f"/monitoring/sync-participants/{class_id}", headers=headers)


async def test_a_manual_sync_always_goes_out(service, http, tap, academy, clock):
    created = await academy.klass()
    await tick_at(service, START)
    clock.now = START + timedelta(minutes=1)  # the active request for this slot went out already
    answers = [await _sync(http, created["class_id"]) for _ in range(2)]
    assert [a.status for a in answers] == [202, 202]
    requested = [(await a.json())["requested"][0] for a in answers]
    assert requested[0]["request_id"] != requested[1]["request_id"]
    assert requested[0] == {"class_id": created["class_id"], "session_id": requested[0]["session_id"],
                            "request_id": requested[0]["request_id"], "reason": "manual", "attempt": 1}
    events = await tap.wait("class.fetch_requested", 2, reason="manual")
    assert [e.id for e in events] == [r["request_id"] for r in requested]
    assert events[0].data["requested_at"] == "2026-11-25T10:01:00Z"
    assert events[0].data["organizer_email"] == created["teacher"]["email"]


async def test_a_manual_sync_first_starts_a_class_the_ticker_has_not_reached(service, http, tap, academy, clock):
    created = await academy.klass()
    clock.now = START + timedelta(minutes=4)
    assert (await _sync(http, created["class_id"])).status == 202
    await tap.wait("class.fetch_requested", reason="manual")
    await settle(service, tap)
    kinds = [(e.type, e.data.get("reason"), e.data.get("attempt")) for e in tap.events
             if e.type in ("class.started", "class.fetch_requested")]
    assert kinds == [("class.started", None, None), ("class.fetch_requested", "active", 1),
                     ("class.fetch_requested", "manual", 1)]


async def test_a_manual_sync_needs_a_started_uncancelled_class_and_an_admin(service, http, academy, clock):
    upcoming = await academy.klass()
    cancelled = await academy.klass(start_in=timedelta(minutes=30))
    await academy.post(f"/api/schedule/classes/{cancelled['class_id']}/cancel", {}, status=200)
    clock.now = START - timedelta(minutes=1)
    assert (await _sync(http, upcoming["class_id"])).status == 409
    assert (await _sync(http, cancelled["class_id"])).status == 409
    assert (await _sync(http, 4242)).status == 404
    assert (await _sync(http, "x")).status == 404
    clock.now = START
    assert (await _sync(http, upcoming["class_id"], VIEWER)).status == 403
    assert await service.pool.fetchval("SELECT count(*) FROM occurrences WHERE reason = 'manual'") == 0


async def test_sync_all_active_asks_for_the_running_classes_only(service, http, tap, academy, clock):
    over = await academy.klass(start_in=timedelta(minutes=10), minutes=20)
    running_now = await academy.klass(start_in=timedelta(minutes=20), minutes=60)
    await academy.klass(start_in=timedelta(hours=3))
    clock.now = T0 + timedelta(minutes=45)
    response = await http.post("/monitoring/sync-all-active", headers=ADMIN)
    assert response.status == 202
    requested = (await response.json())["requested"]
    assert [r["class_id"] for r in requested] == [running_now["class_id"]]
    assert all(e.data["class_id"] != over["class_id"] for e in tap.of("class.fetch_requested", reason="manual"))
    assert (await http.post("/monitoring/sync-all-active", headers=VIEWER)).status == 403


async def test_status_shows_the_job_its_intervals_last_run_and_the_classes(service, http, academy, clock):
    await academy.klass()
    await academy.klass(start_in=timedelta(hours=4))
    await tick_at(service, START)
    clock.now = START + timedelta(minutes=5)
    response = await http.get("/monitoring/status", headers=VIEWER)
    status = await response.json()
    assert response.status == 200
    [job] = status["jobs"]
    assert (job["name"], job["tick_interval_s"], job["fetch_interval_s"], job["retry_interval_s"],
            job["retry_window_days"]) == ("ticker", 3600, 180, 600, 7)
    assert job["last_run_started_at"] == "2026-11-25T09:00:00Z"  # the service's own first tick
    assert job["next_run_at"] == "2026-11-25T10:00:00Z"
    assert job["last_fetch_requested_at"] == {"active": "2026-11-25T10:00:00Z", "final": None, "retry": None,
                                              "manual": None}
    assert status["classes"] == {"scheduled": 1, "active": 1, "awaiting_data": 0, "failed": 0, "complete": 0,
                                 "cancelled": 0}
    assert (await http.get("/monitoring/status")).status == 401
