"""/monitoring: manual participant syncs (admin) and the jobs' status (viewer)."""
from __future__ import annotations

from datetime import timedelta

import structlog
from aiohttp import web

from academy_common.events import rfc3339
from academy_common.http import json_response, path_int, requires
from scheduler import classes_repo, ticker
from scheduler.errors import Conflict
from scheduler.web import refusals_as_problems, scheduler

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()


@routes.post("/monitoring/sync-participants/{class_id}")
@requires("admin")
@refusals_as_problems
async def sync_participants(request: web.Request) -> web.Response:
    class_id = path_int(request, "class_id")
    service = scheduler(request)
    emitted = await ticker.request_manual(service.pool, class_id, service.settings.policy, service.clock())
    log.info("manual sync requested", class_id=class_id, request_id=emitted.occurrence.event_id)
    return json_response({"requested": [emitted.describe()]}, status=202)


@routes.post("/monitoring/sync-all-active")
@requires("admin")
async def sync_all_active(request: web.Request) -> web.Response:
    service = scheduler(request)
    now = service.clock()
    requested = []
    for class_id in await ticker.active_class_ids(service.pool, now):
        try:
            emitted = await ticker.request_manual(service.pool, class_id, service.settings.policy, now)
        except Conflict:  # cancelled since the listing: nothing to sync
            continue
        requested.append(emitted.describe())
    log.info("manual sync of active classes requested", classes=[r["class_id"] for r in requested])
    return json_response({"requested": requested}, status=202)


@routes.get("/monitoring/status")
@requires("viewer", "billing")
async def status(request: web.Request) -> web.Response:
    service = scheduler(request)
    settings, now = service.settings, service.clock()
    window = timedelta(seconds=settings.policy.retry_window_s)
    run = await ticker.last_run(service.pool)
    async with service.pool.acquire() as conn:
        counts = await classes_repo.phase_counts(conn, now, window)
        failed = await classes_repo.failed_class_ids(conn, now, window)
    return json_response({
        "now": rfc3339(now),
        "jobs": [{
            "name": "ticker",
            "does": "starts and ends class sessions, requests active, final and retry fetches",
            "tick_interval_s": settings.tick_interval_s,
            "fetch_interval_s": settings.fetch_interval_s,
            "retry_interval_s": settings.retry_interval_s,
            "retry_max_gap_s": settings.retry_max_gap_s,
            "retry_window_days": settings.retry_window_days,
            "last_run_started_at": rfc3339(run["started_at"]) if run else None,
            "last_run_finished_at": rfc3339(run["finished_at"]) if run else None,
            "last_run_classes": run["classes"] if run else None,
            "last_run_emitted": run["emitted"] if run else None,
            "next_run_at": rfc3339(run["started_at"] + timedelta(seconds=settings.tick_interval_s)) if run else None,
            "last_fetch_requested_at": {
                reason: rfc3339(at) for reason, at in (await ticker.last_requests(service.pool)).items()},
        }],
        "classes": counts,
        "failed_class_ids": failed,
    })
