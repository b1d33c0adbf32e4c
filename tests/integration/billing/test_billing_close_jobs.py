"""Closing a month as a job: 202 and a Location, the job's document, one job per month, a
refused run, two replicas racing for one job, and the watermark that settles the month."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from billing import usecases
from tests.integration.billing.billing_support import (
    MARCH,
    families,
    family,
    klass,
    log,
    set_rate,
    student,
    teacher_log,
)
from tests.support.closing import close_job, close_month
from tests.support.services import CAROL, VIEWER

JOB_FIELDS = {"job_id", "period", "state", "lines_total", "lines_done", "checksum", "requested_by", "requested_at",
              "finished_at", "error"}
IDLE_WORKER = [{"close_job_poll_s": 3600}]  # the worker looks once, at start: the test runs the jobs itself


async def priced_march(api, feed) -> None:
    await feed(family(2, "Smith"), student(3, 2, "Bo"), klass(10, MARCH), log(10, MARCH, seconds=3600),
               teacher_log(10, MARCH, seconds=3600))
    await set_rate(api, "families", 2, 2000, "2025-01-01")
    await set_rate(api, "teachers", 1, 5000, "2025-01-01")


async def test_a_close_answers_202_and_its_job_shows_the_checksum_when_done(http, api, feed):
    await priced_march(api, feed)
    async with http.post("/billing/periods/2025-03/close", headers=CAROL) as response:
        assert response.status == 202
        job = await response.json()
        assert response.headers["Location"] == f"/billing/close-jobs/{job['job_id']}"
    assert set(job) == JOB_FIELDS and job["period"] == "2025-03" and job["requested_by"] == "billing:carol"
    assert (job["state"], job["lines_total"], job["checksum"], job["finished_at"]) == ("running", 2, None, None)

    done = await close_job(api, "2025-03")  # a second close: the same job, now done
    assert done["job_id"] == job["job_id"] and done["state"] == "done" and done["error"] is None
    assert (done["lines_done"], done["lines_total"]) == (2, 2) and done["finished_at"] >= done["requested_at"]
    period = (await api("GET", "/billing/periods/2025-03"))[1]
    assert period["status"] == "closed" and period["checksum"] == done["checksum"]
    assert (await families(api, 2025, 3))["checksum"] == done["checksum"]


async def test_only_billing_and_admin_see_a_job_and_an_unknown_one_is_404(api, feed):
    await priced_march(api, feed)
    job = await close_job(api, "2025-03")
    location = f"/billing/close-jobs/{job['job_id']}"
    assert (await api("GET", location, headers=VIEWER))[0] == 403
    assert (await api("GET", "/billing/close-jobs/7d3c9b1e-0000-4000-8000-000000000000"))[0] == 404
    for bad in ("1", "not-a-uuid", "7D3C9B1E-0000-4000-8000-000000000000", "{7d3c9b1e-0000-4000-8000-000000000000}"):
        status, body = await api("GET", f"/billing/close-jobs/{bad}")
        assert status == 404 and body["status"] == 404, bad


@pytest.mark.parametrize("settings", IDLE_WORKER, indirect=True)
async def test_a_job_refused_when_it_runs_fails_and_a_new_request_may_follow(api, feed, service):
    await priced_march(api, feed)
    status, job = await api("POST", "/billing/periods/2025-03/close")
    assert status == 202 and job["state"] == "running"
    await feed(student(4, 5), log(10, MARCH, student_id=4, family_id=5, seconds=60))  # family 5 has no rate
    assert await usecases.run_close_job(service.pool, job["job_id"], chunk=10, progress_every_s=1)
    failed = (await api("GET", f"/billing/close-jobs/{job['job_id']}"))[1]
    assert failed["state"] == "failed" and "families 5" in failed["error"] and failed["checksum"] is None
    assert (await api("GET", "/billing/periods/2025-03"))[1]["status"] == "open"

    await set_rate(api, "families", 5, 0, "2025-01-01")
    status, again = await api("POST", "/billing/periods/2025-03/close")
    assert status == 202 and again["job_id"] != job["job_id"] and again["state"] == "running"
    assert await usecases.run_close_job(service.pool, again["job_id"], chunk=10, progress_every_s=1)
    assert (await api("GET", "/billing/periods/2025-03"))[1]["status"] == "closed"


@pytest.mark.parametrize("settings", IDLE_WORKER, indirect=True)
async def test_of_two_replicas_racing_for_a_job_exactly_one_runs_it(api, feed, service):
    await priced_march(api, feed)
    _, job = await api("POST", "/billing/periods/2025-03/close")
    ran = await asyncio.gather(*(usecases.run_close_job(service.pool, job["job_id"], chunk=10, progress_every_s=1)
                                 for _ in range(2)))
    assert sorted(ran) == [False, True]
    async with service.pool.acquire() as conn:
        assert await conn.fetchval("SELECT runs FROM close_jobs WHERE job_id = $1", job["job_id"]) == 1
        assert await conn.fetchval("SELECT count(*) FROM period_statements") == 2


async def test_a_close_settles_by_watermark_and_a_line_s_first_change_records_what_it_was_charged(api, feed,
                                                                                                   service):
    await priced_march(api, feed)
    await close_month(api, "2025-03")
    async with service.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM closed_lines") == 0  # nothing copied, nothing updated
        assert await conn.fetchval("SELECT count(*) FROM attendance_lines WHERE settled_revision IS NOT NULL") == 0
    await feed(log(10, MARCH, seconds=1800, version=2), log(10, MARCH, seconds=900, version=3))
    async with service.pool.acquire() as conn:
        charged = await conn.fetch("SELECT kind, billable_seconds, amount_cents, period FROM closed_lines")
    assert [tuple(r) for r in charged] == [("line", 3600, 2000, MARCH.date().replace(day=1))]  # once, as closed
    [adjustment] = (await families(api, 2025, 4))["families"][0]["lines"]
    assert (adjustment["billable_seconds"], adjustment["amount_cents"]) == (-2700, -1500)


async def test_a_month_that_is_not_over_is_refused_at_once(api):
    now = datetime.now(UTC)
    status, body = await api("POST", f"/billing/periods/{now.year:04d}-{now.month:02d}/close")
    assert status == 409 and "not over" in body["detail"]
