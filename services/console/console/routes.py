"""The console's pages: read the request, call a use case, render a template. Money pages need the
billing or admin role, changes the admin role (the APIs check again: the console only hides)."""
from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from academy_common.http import path_int
from console import months, usecases
from console.clients.upstream import UpstreamError
from console.signin import DIGESTS_KEY, USER, require_admin, require_money, sign_in, sign_out

routes = web.RouteTableDef()
PARTIES = tuple(months.PARTIES)
COLLECTIONS = ("teachers", "families", "students", "classes")
CORRECTABLE = ("present", "late", "absent", "excused")
HTMX_STOP_POLLING = 286


def _apis(request: web.Request) -> usecases.Apis:
    app = request.app
    return usecases.apis(app[usecases.HTTP_KEY], app[usecases.SETTINGS_KEY], request[USER].token)


def _render(request: web.Request, template: str, context: dict, nav: str = "", status: int = 200) -> web.Response:
    flash = request.query.get("done", "")
    return aiohttp_jinja2.render_template(template, request, {**context, "nav": nav, "flash": flash}, status=status)


def _now() -> datetime:
    return datetime.now(UTC)


def _choice(request: web.Request, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.query.get(name, default)
    if value not in allowed:
        raise web.HTTPNotFound()
    return value


def _period(request: web.Request) -> months.Period:
    settings = request.app[usecases.SETTINGS_KEY]
    text = request.match_info.get("period") or request.query.get("period")
    if not text:
        return months.Period.of(_now(), settings.timezone)
    try:
        return months.Period.parse(text)
    except ValueError:
        raise web.HTTPNotFound() from None


def _back(location: str, done: str = "") -> web.HTTPSeeOther:
    """Post/redirect/get; `done` is the line the next page shows (its fragment stays last)."""
    path, hash_, fragment = location.partition("#")
    if done:
        path += ("&" if "?" in path else "?") + "done=" + quote(done, safe="")
    return web.HTTPSeeOther(path + hash_ + fragment)


# -- sign-in ----------------------------------------------------------------------------------

@routes.get("/")
async def home(_: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/today")


@routes.get("/sign-in")
async def sign_in_page(request: web.Request) -> web.Response:
    return _render(request, "sign_in.html", {"next": _safe_next(request.query.get("next")), "error": ""})


@routes.post("/sign-in")
async def sign_in_post(request: web.Request) -> web.Response:
    form = await request.post()
    target = _safe_next(form.get("next"))
    if await sign_in(request, request.app[DIGESTS_KEY], str(form.get("token", ""))) is None:
        return _render(request, "sign_in.html", {"next": target, "error": "That token is not one of API_TOKENS."},
                       status=401)
    raise web.HTTPSeeOther(target)


@routes.post("/sign-out")
async def sign_out_post(request: web.Request) -> web.Response:
    await sign_out(request)
    raise web.HTTPSeeOther("/sign-in")


def _safe_next(target: object) -> str:
    """Only a path of this site (never `//elsewhere`): no open redirect."""
    text = str(target or "")
    return text if text.startswith("/") and not text.startswith("//") and "\\" not in text else "/today"


# -- Today and Class --------------------------------------------------------------------------

@routes.get("/today")
async def today_page(request: web.Request) -> web.Response:
    board = await usecases.today(_apis(request), _now())
    return _render(request, "today.html", {**board, "refresh_s": request.app[usecases.SETTINGS_KEY].today_refresh_s},
                   nav="today")


@routes.get("/today/board")
async def today_board(request: web.Request) -> web.Response:
    """The board alone: what the Today page's htmx polling swaps in."""
    return _render(request, "today_board.html", await usecases.today(_apis(request), _now()))


@routes.get("/classes/{class_id}")
async def class_page(request: web.Request) -> web.Response:
    page = await usecases.class_page(_apis(request), path_int(request, "class_id"), _now())
    return _render(request, "class.html", {**page, "errors": {}, "problem": "", "failed_log": None,
                                           "statuses": CORRECTABLE}, nav="today")


@routes.post("/logs/{log_id}/corrections")
async def correct_log(request: web.Request) -> web.Response:
    require_admin(request)
    log_id, form = path_int(request, "log_id"), await request.post()
    class_id = str(form.get("class_id", ""))
    correction, errors = _correction(form)
    if not errors:
        try:
            await usecases.correct_log(_apis(request), log_id, correction)
            raise _back(f"/classes/{int(class_id)}#log-{log_id}", "The log was corrected.")
        except UpstreamError as exc:
            if exc.status != 422:
                raise
            errors = exc.field_errors or {"reason": exc.detail or exc.title}
    page = await usecases.class_page(_apis(request), int(class_id), _now())
    return _render(request, "class.html", {**page, "errors": errors, "problem": "The correction was not saved.",
                                           "failed_log": log_id, "statuses": CORRECTABLE}, nav="today", status=422)


def _correction(form) -> tuple[dict, dict[str, str]]:
    correction, errors = {"reason": str(form.get("reason", "")).strip()}, {}
    if form.get("status"):
        correction["status"] = str(form["status"])
    seconds = str(form.get("billable_seconds", "")).strip()
    if seconds:
        if not seconds.isdigit():
            errors["billable_seconds"] = "a whole number of seconds, 0 or more"
        else:
            correction["billable_seconds"] = int(seconds)
    if form.get("allow_above_attended") == "on":
        correction["allow_above_attended"] = True
    if not correction["reason"]:
        errors["reason"] = "say why (it is kept in the audit history)"
    if len(correction) < 2 and not errors:
        errors["status"] = "change the status or the billable seconds"
    return correction, errors


@routes.post("/logs/{log_id}/mapping")
async def map_guest(request: web.Request) -> web.Response:
    require_admin(request)
    log_id, form = path_int(request, "log_id"), await request.post()
    person, back = str(form.get("person", "")), _safe_next(form.get("back"))
    if person.partition(":")[0] not in ("teacher", "student") or not person.partition(":")[2].isdigit():
        raise _back(back, "Choose who the guest is.")
    await usecases.map_guest(_apis(request), log_id, person)
    raise _back(back, "The guest was mapped; the class was recomputed.")


# -- Unmatched --------------------------------------------------------------------------------

@routes.get("/unmatched")
async def unmatched_page(request: web.Request) -> web.Response:
    page = await usecases.unmatched(_apis(request), request.query.get("cursor"))
    return _render(request, "unmatched.html", page, nav="unmatched")


# -- Month (money) ----------------------------------------------------------------------------

@routes.get("/month")
async def month_page(request: web.Request) -> web.Response:
    require_money(request)
    party = _choice(request, "party", PARTIES, "families")
    after = request.query.get("after", "0")
    page = await usecases.month(_apis(request), _period(request), party, int(after) if after.isdigit() else 0)
    policies = await usecases.policies(_apis(request))
    return _render(request, "month.html", {**page, "parties": months.PARTIES, "policies": policies,
                                           "editable": months.editable}, nav="month")


@routes.get("/month/{period}/{party:families|teachers}/{party_id}")
async def statement_page(request: web.Request) -> web.Response:
    require_money(request)
    party = request.match_info["party"]
    if party not in PARTIES:
        raise web.HTTPNotFound()
    page = await usecases.statement(_apis(request), _period(request), party, path_int(request, "party_id"))
    if page is None:
        raise web.HTTPNotFound()
    return _render(request, "statement.html", page, nav="month")


@routes.get("/month/{period}/{party:families|teachers}.csv")
async def month_csv(request: web.Request) -> web.Response:
    require_money(request)
    party, period = request.match_info["party"], _period(request)
    if party not in PARTIES:
        raise web.HTTPNotFound()
    body = await usecases.csv(_apis(request), period, party)
    return web.Response(body=body, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="{party}-{period}.csv"'})


@routes.get("/month/{period}/close")
async def close_confirm(request: web.Request) -> web.Response:
    require_money(request)
    return _render(request, "close_confirm.html", {"period": _period(request)}, nav="month")


@routes.post("/month/{period}/close")
async def close_month(request: web.Request) -> web.Response:
    require_money(request)
    period = _period(request)
    started = await usecases.close_month(_apis(request), period)
    if "job_id" in started:
        raise web.HTTPSeeOther(f"/month/{period}/close-jobs/{started['job_id']}")
    checksum = started["period"].get("checksum") or ""
    raise _back(f"/month?period={period}", f"{period} is closed. Checksum {checksum}")


@routes.get("/month/{period}/close-jobs/{job_id}")
async def close_job_page(request: web.Request) -> web.Response:
    require_money(request)
    job = await usecases.close_job(_apis(request), request.match_info["job_id"])
    context = {**job, "period": _period(request)}
    if not request.headers.get("HX-Request"):
        return _render(request, "close_job.html", context, nav="month")
    # 286 tells htmx to stop polling: the job is over
    return _render(request, "close_job_progress.html", context, status=200 if job["job"].get("state") == "running"
                   else HTMX_STOP_POLLING)


@routes.get("/rates/{party}/{party_id}")
async def rates_page(request: web.Request) -> web.Response:
    require_money(request)
    party = request.match_info["party"]
    if party not in PARTIES:
        raise web.HTTPNotFound()
    page = await usecases.rates(_apis(request), party, path_int(request, "party_id"))
    return _render(request, "rates.html", {**page, "errors": {}, "problem": "", "editable": months.editable},
                   nav="month")


@routes.post("/rates/{party}/{party_id}")
async def set_rate(request: web.Request) -> web.Response:
    require_money(request)
    party, party_id, form = request.match_info["party"], path_int(request, "party_id"), await request.post()
    if party not in PARTIES:
        raise web.HTTPNotFound()
    errors: dict[str, str] = {}
    try:
        rate = {"hourly_rate_cents": months.cents(str(form.get("hourly_rate", ""))),
                "currency": str(form.get("currency", "")).strip().upper(),
                "effective_from": str(form.get("effective_from", "")).strip()}
    except ValueError as exc:
        errors["hourly_rate"] = str(exc)
    if not errors:
        try:
            await usecases.set_rate(_apis(request), party, party_id, rate)
            raise _back(f"/rates/{party}/{party_id}", "The rate was saved.")
        except UpstreamError as exc:
            if exc.status != 422:
                raise
            errors = exc.field_errors or {"effective_from": exc.detail}
    page = await usecases.rates(_apis(request), party, party_id)
    return _render(request, "rates.html", {**page, "errors": errors, "problem": "The rate was not saved.",
                                           "editable": months.editable}, nav="month", status=422)


@routes.post("/policies/{party}/{which}")
async def set_policy(request: web.Request) -> web.Response:
    require_money(request)
    party, which = request.match_info["party"], request.match_info["which"]
    if party not in PARTIES or not (which == "default" or which.isdigit()):
        raise web.HTTPNotFound()
    form = {k: str(v) for k, v in (await request.post()).items()}
    await usecases.set_policy(_apis(request), party, which, form)
    raise _back(_safe_next(form.get("back")) if form.get("back") else "/month", "The policy was saved.")


# -- Directory --------------------------------------------------------------------------------

@routes.get("/directory")
async def directory_page(request: web.Request) -> web.Response:
    collection = _choice(request, "show", COLLECTIONS, "classes")
    page = await usecases.directory(_apis(request), collection, request.query.get("cursor"))
    choices = await usecases.schedule_choices(_apis(request)) if request[USER].corrects else {}
    return _render(request, "directory.html", {**page, "choices": choices, "collections": COLLECTIONS,
                                               "errors": {}, "problem": "", "form": {}}, nav="directory")


@routes.post("/directory/classes")
async def schedule_class(request: web.Request) -> web.Response:
    require_admin(request)
    form = await request.post()
    settings = request.app[usecases.SETTINGS_KEY]
    errors, new_class = {}, {"title": str(form.get("title", "")).strip(),
                             "student_ids": [int(s) for s in form.getall("student_ids", []) if str(s).isdigit()]}
    try:
        new_class["teacher_id"] = int(str(form.get("teacher_id", "")))
        new_class["duration_minutes"] = int(str(form.get("duration_minutes", "")))
    except ValueError:
        errors["duration_minutes"] = "choose a teacher and a length in minutes"
    try:
        start = datetime.fromisoformat(str(form.get("start", "")))
        new_class["start"] = (start if start.tzinfo else start.replace(tzinfo=settings.timezone)).isoformat()
    except ValueError:
        errors["start"] = "a date and time"
    if not errors:
        try:
            created = await usecases.schedule_class(_apis(request), new_class)
            raise _back("/directory?show=classes", f"Class {created['id']} “{created['title']}” was scheduled.")
        except UpstreamError as exc:
            if exc.status not in (409, 422):
                raise
            errors = exc.field_errors or {"start": exc.detail or exc.title}
    page = await usecases.directory(_apis(request), "classes", None)
    choices = await usecases.schedule_choices(_apis(request))
    return _render(request, "directory.html", {**page, "choices": choices, "collections": COLLECTIONS,
                                               "errors": errors, "problem": "The class was not scheduled.",
                                               "form": dict(form)}, nav="directory", status=422)


@routes.post("/directory/classes/{class_id}/cancel")
async def cancel_class(request: web.Request) -> web.Response:
    require_admin(request)
    class_id = path_int(request, "class_id")
    await usecases.cancel_class(_apis(request), class_id)
    raise _back("/directory?show=classes", f"Class {class_id} was cancelled.")
