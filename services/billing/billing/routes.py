"""The billing HTTP API: month reports (JSON or CSV), rates, policies, period close (a job). Money needs billing or admin."""
from __future__ import annotations

import io
import re
import time
import uuid
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, ConfigDict, Field

from academy_common.events import rfc3339
from academy_common.http import (
    ACTOR,
    JsonBody,
    JsonInt,
    Problem,
    json_response,
    path_int,
    read_json,
    read_query,
    requires,
)
from academy_common.service import SERVICE_KEY, Service
from billing import usecases
from billing.months import MAX_YEAR, MIN_YEAR, Month
from billing.policies import InvalidPolicy, parse_fields
from billing.rates import MAX_RATE_CENTS, Party, Rate, parse_effective_from
from billing.reports import PLURAL, AlreadyClosed, MissingRates, NotOver, period_document

routes = web.RouteTableDef()

REPORT_SECONDS = Histogram("billing_report_duration_seconds", "Month report time to the last byte",
                           ["party", "format"])
SEND_BYTES = 64 * 1024  # CSV sent in blocks of this size: each waits for the client to take the previous one
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.ASCII)
RATE_CHANGES = Counter("billing_rate_changes_total", "Rate entries added or replaced", ["party"])
POLICY_CHANGES = Counter("billing_policy_changes_total", "Policy entries added or replaced", ["party", "scope"])


class MonthQuery(BaseModel):
    year: int = Field(ge=MIN_YEAR, le=MAX_YEAR)
    month: int = Field(ge=1, le=12)
    after: int = Field(default=0, ge=0, lt=2**63, description="id of the last statement of the previous page")
    limit: int | None = Field(default=None, ge=1)


class PolicyIn(BaseModel):
    """effective_from, then the policy fields, checked by billing.policies (nulls mean "off")."""

    model_config = ConfigDict(extra="allow")
    effective_from: str = Field(min_length=1, max_length=64)


class RateIn(JsonBody):
    hourly_rate_cents: JsonInt = Field(ge=0, le=MAX_RATE_CENTS)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    effective_from: str = Field(min_length=1, max_length=64)


# -- month reports ----------------------------------------------------------------------------

@routes.get("/monitoring/billing/families")
@requires("billing")
async def family_bills(request: web.Request) -> web.StreamResponse:
    return await _month_report(request, "family")


@routes.get("/monitoring/payroll/teachers")
@requires("billing")
async def teacher_payroll(request: web.Request) -> web.StreamResponse:
    return await _month_report(request, "teacher")


async def _month_report(request: web.Request, party: Party) -> web.StreamResponse:
    query = read_query(request, MonthQuery)
    service: Service = request.app[SERVICE_KEY]
    month, started = Month(query.year, query.month), time.perf_counter()
    limit = query.limit or service.settings.report_page_size
    if limit > service.settings.report_max_page_size:
        raise Problem(422, "Unprocessable Content", f"limit: at most {service.settings.report_max_page_size}")
    if _wants_csv(request):
        response = await _csv_report(request, service, party, month)
        REPORT_SECONDS.labels(party, "csv").observe(time.perf_counter() - started)
        return response
    response = json_response(await usecases.month_report(service.pool, party, month, service.settings.timezone,
                                                         after=query.after, limit=limit))
    REPORT_SECONDS.labels(party, "json").observe(time.perf_counter() - started)
    return response


async def _csv_report(request: web.Request, service: Service, party: Party, month: Month) -> web.StreamResponse:
    """The whole month, read into a spool first (no connection held while the client reads), then sent."""
    async with usecases.csv_spool(service.pool, party, month) as spool:
        response = web.StreamResponse(headers={
            "Content-Disposition": f'attachment; filename="{PLURAL[party]}-{month}.csv"'})
        response.content_type, response.charset = "text/csv", "utf-8"
        response.content_length = spool.seek(0, io.SEEK_END)
        spool.seek(0)
        await response.prepare(request)
        while block := spool.read(SEND_BYTES):
            await response.write(block)
    await response.write_eof()
    return response


def _wants_csv(request: web.Request) -> bool:
    """CSV when the client asks for text/csv ahead of (or without) JSON; JSON otherwise."""
    for media_range in request.headers.get("Accept", "").split(","):
        media_type = media_range.split(";")[0].strip().lower()
        if media_type == "text/csv":
            return True
        if media_type in ("application/json", "application/*", "*/*"):
            return False
    return False


# -- rates --------------------------------------------------------------------------------------

@routes.put("/billing/rates/families/{party_id}")
@requires("billing")
async def put_family_rate(request: web.Request) -> web.Response:
    return await _put_rate(request, "family")


@routes.put("/billing/rates/teachers/{party_id}")
@requires("billing")
async def put_teacher_rate(request: web.Request) -> web.Response:
    return await _put_rate(request, "teacher")


@routes.get("/billing/rates/families/{party_id}")
@requires("billing")
async def family_rates(request: web.Request) -> web.Response:
    return await _rates(request, "family")


@routes.get("/billing/rates/teachers/{party_id}")
@requires("billing")
async def teacher_rates(request: web.Request) -> web.Response:
    return await _rates(request, "teacher")


async def _put_rate(request: web.Request, party: Party) -> web.Response:
    party_id = path_int(request, "party_id")
    body = await read_json(request, RateIn)
    service: Service = request.app[SERVICE_KEY]
    try:
        effective_from = parse_effective_from(body.effective_from, service.settings.timezone)
    except ValueError as exc:
        raise Problem(422, "Unprocessable Content", f"effective_from: {exc}") from None
    rate = Rate(effective_from, body.hourly_rate_cents, body.currency)
    history, repriced = await usecases.set_rate(service.pool, party, party_id, rate, by=_who(request))
    RATE_CHANGES.labels(party).inc()
    return json_response(_rates_document(party, party_id, history) | {"repriced_lines": repriced})


async def _rates(request: web.Request, party: Party) -> web.Response:
    party_id = path_int(request, "party_id")
    service: Service = request.app[SERVICE_KEY]
    history = await usecases.rate_history(service.pool, party, party_id)
    return json_response(_rates_document(party, party_id, history))


def _rates_document(party: Party, party_id: int, history: list) -> dict:
    return {f"{party}_id": party_id, "rates": [
        {"effective_from": rfc3339(r["effective_from"]), "hourly_rate_cents": r["hourly_rate_cents"],
         "currency": r["currency"], "updated_at": rfc3339(r["updated_at"]), "updated_by": r["updated_by"]}
        for r in history]}


# -- policies -----------------------------------------------------------------------------------

@routes.put("/billing/policies/families/default")
@requires("billing")
async def put_default_family_policy(request: web.Request) -> web.Response:
    return await _put_policy(request, "family", None)


@routes.put("/billing/policies/teachers/default")
@requires("billing")
async def put_default_teacher_policy(request: web.Request) -> web.Response:
    return await _put_policy(request, "teacher", None)


@routes.put("/billing/policies/families/{party_id}")
@requires("billing")
async def put_family_policy(request: web.Request) -> web.Response:
    return await _put_policy(request, "family", path_int(request, "party_id"))


@routes.put("/billing/policies/teachers/{party_id}")
@requires("billing")
async def put_teacher_policy(request: web.Request) -> web.Response:
    return await _put_policy(request, "teacher", path_int(request, "party_id"))


@routes.get("/billing/policies/families/default")
@requires("billing")
async def default_family_policies(request: web.Request) -> web.Response:
    return await _policies(request, "family", None)


@routes.get("/billing/policies/teachers/default")
@requires("billing")
async def default_teacher_policies(request: web.Request) -> web.Response:
    return await _policies(request, "teacher", None)


@routes.get("/billing/policies/families/{party_id}")
@requires("billing")
async def family_policies(request: web.Request) -> web.Response:
    return await _policies(request, "family", path_int(request, "party_id"))


@routes.get("/billing/policies/teachers/{party_id}")
@requires("billing")
async def teacher_policies(request: web.Request) -> web.Response:
    return await _policies(request, "teacher", path_int(request, "party_id"))


async def _put_policy(request: web.Request, party: Party, party_id: int | None) -> web.Response:
    """party_id None: the default scope (every family / every teacher)."""
    body = await read_json(request, PolicyIn)
    service: Service = request.app[SERVICE_KEY]
    try:
        effective_from = parse_effective_from(body.effective_from, service.settings.timezone)
    except ValueError as exc:
        raise Problem(422, "Unprocessable Content", f"effective_from: {exc}") from None
    try:
        fields = parse_fields(party, body.model_extra or {})
    except InvalidPolicy as exc:
        raise Problem(422, "Unprocessable Content", str(exc)) from None
    history, repriced = await usecases.set_policy(service.pool, party, party_id, effective_from, fields,
                                                  by=_who(request))
    POLICY_CHANGES.labels(party, "default" if party_id is None else "party").inc()
    return json_response(_policies_document(party, party_id, history) | {"repriced_lines": repriced})


async def _policies(request: web.Request, party: Party, party_id: int | None) -> web.Response:
    service: Service = request.app[SERVICE_KEY]
    history = await usecases.policy_history(service.pool, party, party_id)
    return json_response(_policies_document(party, party_id, history))


def _policies_document(party: Party, party_id: int | None, history: list) -> dict:
    return {"scope": "default" if party_id is None else party, f"{party}_id": party_id, "policies": [
        {"effective_from": rfc3339(r["effective_from"]), **r["fields"], "updated_at": rfc3339(r["updated_at"]),
         "updated_by": r["updated_by"]}
        for r in history]}


# -- periods ----------------------------------------------------------------------------------

@routes.post("/billing/periods/{period}/close")
@requires("billing")
async def close_period(request: web.Request) -> web.Response:
    """202 with the month's close job (a new one, or the one already running or done)."""
    month = _period(request)
    service: Service = request.app[SERVICE_KEY]
    try:
        job = await usecases.request_close(service.pool, month, service.settings.timezone, by=_who(request),
                                           now=datetime.now(UTC))
    except AlreadyClosed:
        raise Problem(409, "Conflict", f"{month} is already closed") from None
    except NotOver as exc:
        raise Problem(409, "Conflict", f"{month} is not over yet: {exc}") from None
    except MissingRates as exc:
        raise Problem(409, "Conflict", f"{month} has lines without a rate in force; set the rates first",
                      unpriced={PLURAL[party]: ids for party, ids in exc.unpriced.items()}) from None
    return json_response(_job_document(job), status=202, location=f"/billing/close-jobs/{job['job_id']}")


@routes.get("/billing/close-jobs/{job_id}")
@requires("billing")
async def get_close_job(request: web.Request) -> web.Response:
    raw = request.match_info["job_id"]
    if not _UUID.match(raw):  # like path_int: an id that cannot exist is not found
        raise Problem(404, "Not Found", f"job_id {raw!r} is not an id")
    job_id = uuid.UUID(raw)
    service: Service = request.app[SERVICE_KEY]
    job = await usecases.close_job(service.pool, job_id)
    if job is None:
        raise Problem(404, "Not Found", f"no close job {job_id}")
    return json_response(_job_document(job))


def _job_document(job) -> dict:
    return {"job_id": str(job["job_id"]), "period": str(Month.from_date(job["period"])), "state": job["state"],
            "lines_total": job["lines_total"], "lines_done": job["lines_done"], "checksum": job["checksum"],
            "requested_by": job["requested_by"], "requested_at": rfc3339(job["requested_at"]),
            "finished_at": rfc3339(job["finished_at"]), "error": job["error"]}


@routes.get("/billing/periods/{period}")
@requires("billing")
async def get_period(request: web.Request) -> web.Response:
    month = _period(request)
    service: Service = request.app[SERVICE_KEY]
    record = await usecases.period(service.pool, month)
    return json_response(period_document(month, record))


def _period(request: web.Request) -> Month:
    try:
        return Month.parse(request.match_info["period"])
    except ValueError as exc:
        raise Problem(422, "Unprocessable Content", f"period: {exc}") from None


def _who(request: web.Request) -> str:
    """Who acted: `billing:carol` for a named token, the bare role otherwise."""
    return request[ACTOR]
