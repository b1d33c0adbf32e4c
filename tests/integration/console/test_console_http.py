"""The console as a browser without JavaScript sees it, against stand-in APIs: sign-in, the session
cookie, CSRF, roles, and upstream failures as readable pages.

The stand-ins answer like the real APIs (bearer token, JSON, problem+json); the real services are
behind the console in tests/browser."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from console.app import build
from console.settings import Settings

from scripts.system import free_port

ADMIN, VIEWER, BILLING = "console-admin-token-01", "console-viewer-token-1", "console-billing-token1"
TOKENS = f"admin:alice={ADMIN},viewer={VIEWER},billing={BILLING}"
STARTED = datetime.now(UTC).replace(hour=0, minute=1, second=0, microsecond=0)  # today, in the console's UTC
LESSON = {"id": 1, "class_id": 1, "title": "Algebra", "phase": "active", "status": "scheduled",
          "scheduled_start": STARTED.isoformat(), "scheduled_end": (STARTED + timedelta(hours=1)).isoformat(),
          "teacher": {"teacher_id": 1, "name": "Ada", "email": "ada@x.org"},
          "students": [{"student_id": 2, "family_id": 3, "name": "Bo", "email": "bo@x.org"}],
          "fetch": {"last_error": None}}
LOG = {"log_id": 7, "class_id": 1, "role": "student", "display_name": "Bo", "status": "present", "final": False,
       "first_join": "2026-03-02T10:00:00Z", "last_leave": None, "attended_seconds": 600,
       "billable_seconds": 600, "joins": 1, "late": False, "left_early": False, "corrected": False,
       "sessions": [], "corrections": []}
STATEMENT = {"family_id": 3, "name": "Byron", "lines": [
    {"kind": "line", "class_id": 1, "class_title": "Algebra", "scheduled_start": "2026-03-02T10:00:00Z",
     "student_name": "Bo", "billable_seconds": 3125, "measured_seconds": 3125, "billed_seconds": 3600,
     "rule": "full_lesson", "rule_detail": "attended 52:05 of 60:00 ≥ 80% → billed 60:00",
     "hourly_rate_cents": 3000, "currency": "EUR", "amount_cents": 3000}],
    "totals": [{"currency": "EUR", "amount_cents": 3000, "billable_seconds": 3125, "billed_seconds": 3600}],
    "totals_by_rule": [{"currency": "EUR", "rule": "full_lesson", "lines": 1, "billed_seconds": 3600,
                        "amount_cents": 3000}]}
POLICIES = {
    "/billing/policies/families/default": {"scope": "default", "family_id": None, "policies": [
        {"effective_from": "2026-01-01T00:00:00Z", "minimum_seconds": 1800, "full_lesson_percent": 80,
         "updated_at": "2026-01-02T09:00:00Z", "updated_by": "billing:carol"}]},
    "/billing/policies/families/3": {"scope": "family", "family_id": 3, "policies": [
        {"effective_from": "2026-02-01T00:00:00Z", "rounding": {"unit_seconds": 900, "mode": "up"},
         "full_lesson_percent": None, "updated_at": "2026-02-02T09:00:00Z", "updated_by": "admin:alice"}]},
}


class StandIn:
    """One aiohttp app playing scheduler, attendance and billing; records what it was sent."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, str, object]] = []
        self.queries: list[tuple[str, dict[str, str]]] = []
        self.correction_problem: dict | None = None
        self.policy_problem: dict | None = None
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.app = app

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        self.received.append((request.method, request.path, request.headers.get("Authorization", ""), body))
        self.queries.append((request.path, dict(request.query)))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in (ADMIN, VIEWER, BILLING):
            return web.json_response({"title": "Unauthorized", "status": 401}, status=401)
        if request.path.startswith(("/monitoring/billing", "/billing")) and token == VIEWER:
            return web.json_response({"title": "Forbidden", "status": 403}, status=403)
        return self.answer(request, body)

    def answer(self, request: web.Request, body) -> web.Response:
        path = request.path
        if path.endswith("/corrections") and self.correction_problem:
            return web.json_response(self.correction_problem, status=422, content_type="application/problem+json")
        if request.method == "PUT" and path.startswith("/billing/policies/"):
            if self.policy_problem:
                return web.json_response(self.policy_problem, status=422, content_type="application/problem+json")
            return web.json_response({**POLICIES[path], "repriced_lines": 2})
        if (request.method, path) == ("POST", "/api/schedule/classes"):
            return web.json_response(LESSON, status=201)
        canned = {
            "/api/schedule/classes": {"items": [LESSON], "next_cursor": None},
            **{f"/api/{people}": {"items": [], "next_cursor": None} for people in ("teachers", "families", "students")},
            "/api/schedule/classes/1": LESSON,
            "/monitoring/status": {"jobs": [{"last_fetch_requested_at": {"active": "2026-03-02T10:05:00Z"}}],
                                   "failed_class_ids": []},
            "/monitoring/attendance-logs": {"items": [LOG], "next_cursor": None},
            "/monitoring/attendance-logs/7": LOG,
            "/monitoring/attendance-logs/7/corrections": LOG,
            "/monitoring/unmatched": {"items": [], "next_cursor": None},
            "/monitoring/billing/families": {"families": [STATEMENT], "totals": STATEMENT["totals"],
                                             "next_after": None, "status": "open", "timezone": "UTC"},
            "/billing/periods/2026-03": {"period": "2026-03", "status": "open"},
            "/api/families/3": {"id": 3, "name": "Byron"},
            "/api/schedule/classes/1/cancel": {**LESSON, "status": "cancelled"},
            "/billing/rates/families/3": {"family_id": 3, "rates": []},
            **POLICIES,
        }
        if path in canned:
            return web.json_response(canned[path], status=201 if request.method == "POST" else 200)
        return web.json_response({"title": "Not Found", "status": 404, "detail": f"no {path}"}, status=404)


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def console(upstream: str, **overrides) -> AsyncIterator[str]:
    settings = Settings(**{"api_tokens": TOKENS, "http_port": 0, "scheduler_url": upstream,
                           "attendance_url": upstream, "billing_url": upstream, "log_format": "console",
                           # nothing listens here: the console must need neither a broker nor a database
                           "amqp_url": f"amqp://guest:guest@127.0.0.1:{free_port()}/",
                           "database_url": f"postgresql://postgres@127.0.0.1:{free_port()}/none", **overrides})
    service = build(settings)
    await service.start()
    try:
        yield f"http://127.0.0.1:{service.port}"
    finally:
        await service.stop()


@pytest.fixture
async def stand_in():
    fake = StandIn()
    async with serving(fake.app) as url:
        fake.url = url
        yield fake


@pytest.fixture
async def site(stand_in):
    async with console(stand_in.url) as url:
        yield url


def browser() -> aiohttp.ClientSession:
    # unsafe: keep cookies for an IP-address host (127.0.0.1), as a browser does
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


async def signed_in(http: aiohttp.ClientSession, site: str, token: str) -> str:
    """Sign in; returns the CSRF token of the first page after it."""
    async with http.get(f"{site}/sign-in") as response:
        csrf = csrf_of(await response.text())
    async with http.post(f"{site}/sign-in", data={"csrf_token": csrf, "token": token, "next": "/today"}) as response:
        assert response.status == 200, await response.text()
        return csrf_of(await response.text())


async def test_probes_answer_without_a_session(site):
    async with browser() as http:
        for path in ("/healthz", "/readyz", "/metrics"):
            async with http.get(site + path, allow_redirects=False) as response:
                assert response.status == 200, path


async def test_a_page_without_a_session_sends_to_sign_in_and_back(site):
    async with browser() as http, http.get(f"{site}/classes/1", allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] in ("/sign-in?next=%2Fclasses%2F1", "/sign-in?next=/classes/1")


async def test_sign_in_sets_an_http_only_strict_cookie_and_shows_the_name(site):
    async with browser() as http:
        async with http.get(f"{site}/sign-in") as response:
            csrf = csrf_of(await response.text())
        async with http.post(f"{site}/sign-in", data={"csrf_token": csrf, "token": ADMIN, "next": "/today"},
                             allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/today"
            cookie = response.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
            assert ADMIN not in cookie  # encrypted
        async with http.get(f"{site}/today") as response:
            page = await response.text()
        assert "alice (admin)" in page and "Algebra" in page


async def test_a_wrong_token_is_refused_on_the_page(site):
    async with browser() as http:
        async with http.get(f"{site}/sign-in") as response:
            csrf = csrf_of(await response.text())
        async with http.post(f"{site}/sign-in", data={"csrf_token": csrf, "token": "not-a-token-at-all"}) as response:
            assert response.status == 401
            assert "not one of API_TOKENS" in await response.text()


async def test_a_request_of_the_signed_out_keeps_the_sign_in_forms_token(site):
    """A browser asks for /favicon.ico between the sign-in page and the form's POST."""
    async with browser() as http:
        async with http.get(f"{site}/sign-in") as response:
            csrf = csrf_of(await response.text())
        await http.get(f"{site}/favicon.ico", allow_redirects=False)
        async with http.post(f"{site}/sign-in", data={"csrf_token": csrf, "token": ADMIN}) as response:
            assert response.status == 200 and "alice (admin)" in await response.text()


async def test_sign_in_without_the_csrf_token_is_refused(site):
    async with browser() as http:
        await http.get(f"{site}/sign-in")
        async with http.post(f"{site}/sign-in", data={"token": ADMIN}) as response:
            assert response.status == 403
            assert "The form has expired" in await response.text()


async def test_a_form_without_the_csrf_token_changes_nothing(site, stand_in):
    async with browser() as http:
        await signed_in(http, site, ADMIN)
        form = {"class_id": "1", "status": "excused", "reason": "ill"}
        async with http.post(f"{site}/logs/7/corrections", data={**form, "csrf_token": "forged"}) as response:
            assert response.status == 403
    assert not [r for r in stand_in.received if r[0] == "POST"]


async def test_a_correction_reaches_attendance_with_the_users_token(site, stand_in):
    async with browser() as http:
        csrf = await signed_in(http, site, ADMIN)
        form = {"csrf_token": csrf, "class_id": "1", "status": "excused", "billable_seconds": "0", "reason": "ill"}
        async with http.post(f"{site}/logs/7/corrections", data=form, allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"].startswith("/classes/1?done=")
    posted = [r for r in stand_in.received if r[0] == "POST"]
    assert posted == [("POST", "/monitoring/attendance-logs/7/corrections", f"Bearer {ADMIN}",
                       {"reason": "ill", "status": "excused", "billable_seconds": 0})]


async def test_scheduling_a_class_sends_the_form_as_the_scheduler_takes_it(stand_in):
    async with console(stand_in.url, academy_timezone="Europe/Madrid") as site, browser() as http:
        csrf = await signed_in(http, site, ADMIN)
        form = [("csrf_token", csrf), ("title", " Algebra "), ("teacher_id", "1"), ("student_ids", "2"),
                ("student_ids", "5"), ("start", "2026-03-02T11:00"), ("duration_minutes", "60")]
        async with http.post(f"{site}/directory/classes", data=form, allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"].startswith("/directory?show=classes")
    posted = [r for r in stand_in.received if r[0] == "POST" and r[1] == "/api/schedule/classes"]
    assert posted == [("POST", "/api/schedule/classes", f"Bearer {ADMIN}", {
        "title": "Algebra", "student_ids": [2, 5], "teacher_id": 1, "duration_minutes": 60,
        "start": "2026-03-02T11:00:00+01:00"})]  # a local time typed in the form is the academy's


async def test_a_class_form_without_a_length_is_refused_before_the_scheduler_is_asked(site, stand_in):
    async with browser() as http:
        csrf = await signed_in(http, site, ADMIN)
        form = {"csrf_token": csrf, "title": "X", "teacher_id": "1", "start": "2026-03-02T11:00"}
        async with http.post(f"{site}/directory/classes", data=form) as response:
            assert response.status == 422 and "a length in minutes" in await response.text()
    assert not [r for r in stand_in.received if r[0] == "POST" and r[1] == "/api/schedule/classes"]


async def test_cancelling_a_class_asks_the_scheduler_with_the_users_token(site, stand_in):
    async with browser() as http:
        csrf = await signed_in(http, site, ADMIN)
        async with http.post(f"{site}/directory/classes/1/cancel", data={"csrf_token": csrf},
                             allow_redirects=False) as response:
            assert response.status == 303
    assert [r[:3] for r in stand_in.received if r[0] == "POST" and "cancel" in r[1]] == [
        ("POST", "/api/schedule/classes/1/cancel", f"Bearer {ADMIN}")]


async def test_a_rate_typed_in_euros_reaches_billing_in_cents(site, stand_in):
    async with browser() as http:
        csrf = await signed_in(http, site, BILLING)
        form = {"csrf_token": csrf, "hourly_rate": "30.90", "currency": "eur", "effective_from": "2026-03-01"}
        async with http.post(f"{site}/rates/families/3", data=form, allow_redirects=False) as response:
            assert response.status == 303
    assert [r[1:] for r in stand_in.received if r[0] == "PUT"] == [
        ("/billing/rates/families/3", f"Bearer {BILLING}",
         {"hourly_rate_cents": 3090, "currency": "EUR", "effective_from": "2026-03-01"})]


async def test_the_apis_problem_is_shown_next_to_the_field(site, stand_in):
    stand_in.correction_problem = {"title": "Unprocessable Content", "status": 422, "detail": "too many",
                                   "errors": [{"field": "billable_seconds", "message": "above attended_seconds"}]}
    async with browser() as http:
        csrf = await signed_in(http, site, ADMIN)
        form = {"csrf_token": csrf, "class_id": "1", "billable_seconds": "9999", "reason": "phone"}
        async with http.post(f"{site}/logs/7/corrections", data=form) as response:
            assert response.status == 422
            page = await response.text()
    assert "The correction was not saved." in page
    assert re.search(r'name="billable_seconds"[^>]*>\s*<p class="field-error">above attended_seconds', page)


async def test_a_viewer_sees_no_money_links_and_gets_403_pages(site, stand_in):
    async with browser() as http:
        await signed_in(http, site, VIEWER)
        async with http.get(f"{site}/today") as response:
            page = await response.text()
        assert 'href="/month"' not in page
        for path in ("/month", "/month/2026-03/families.csv", "/month/2026-03/families/3", "/rates/families/3",
                     "/month/2026-03/close", "/policies/families/default", "/policies/teachers/4"):
            async with http.get(site + path) as response:
                assert response.status == 403, path
                assert "Not for your role" in await response.text()
        async with http.get(f"{site}/classes/1") as response:
            page = await response.text()
        assert "Correct log" not in page  # corrections are admin only
    assert not [r for r in stand_in.received if "billing" in r[1]], "the console did not even ask billing"


async def test_today_lists_the_classes_starting_today_ended_or_not(stand_in):
    async with console(stand_in.url, academy_timezone="Europe/Madrid") as site, browser() as http:
        await signed_in(http, site, VIEWER)
        async with http.get(f"{site}/today") as response:
            assert response.status == 200 and "Algebra" in await response.text()
    queries = [q for path, q in stand_in.queries if path == "/api/schedule/classes"]
    assert queries
    for query in queries:
        start, end = (datetime.fromisoformat(query[k]) for k in ("from", "to"))
        assert query["upcoming_only"] == "false" and end - start == timedelta(days=1)
        assert start.astimezone(ZoneInfo("Europe/Madrid")).time() == time(0)  # the academy's midnight


async def test_billing_sees_the_month(site):
    async with browser() as http:
        await signed_in(http, site, BILLING)
        async with http.get(f"{site}/month?period=2026-03") as response:
            assert response.status == 200
            assert "Family bills" in await response.text()


@pytest.mark.parametrize("path", ["/month?period=2026-03", "/month/2026-03/families/3"])
async def test_each_line_shows_its_rule_and_each_statement_its_totals_by_rule(site, path):
    async with browser() as http:
        await signed_in(http, site, BILLING)
        async with http.get(site + path) as response:
            assert response.status == 200
            page = await response.text()
    assert '<span class="rule rule-full_lesson">full lesson</span>' in page
    assert "attended 52:05 of 60:00 ≥ 80% → billed 60:00" in page
    assert re.search(r'<tr class="rule-total"><td colspan="6">Full lesson: 1 line, billed 1 h 00 min</td>'
                     r'<td class="num">30.00 EUR</td>', page)
    assert "Total (billed 1 h 00 min, measured 52 min 05 s)" in page


async def test_an_api_that_is_down_is_a_readable_page(stand_in):
    async with console(f"http://127.0.0.1:{free_port()}") as site, browser() as http:
        await http.get(f"{site}/sign-in")
        async with http.get(f"{site}/sign-in") as response:
            csrf = csrf_of(await response.text())
        async with http.post(f"{site}/sign-in", data={"csrf_token": csrf, "token": ADMIN}) as response:
            assert response.status == 503
            page = await response.text()
    assert "cannot be reached" in page and "Traceback" not in page


async def test_an_unknown_record_is_a_404_page(site):
    async with browser() as http:
        await signed_in(http, site, ADMIN)
        async with http.get(f"{site}/classes/99") as response:
            assert response.status == 404
            assert "no such record" in await response.text()


async def test_a_withdrawn_token_ends_the_session(stand_in):
    key = "x" * 43 + "="
    async with browser() as http:
        async with console(stand_in.url, console_session_key=key) as site:
            await signed_in(http, site, ADMIN)
        async with (console(stand_in.url, console_session_key=key, api_tokens=f"viewer={VIEWER}") as site,
                    http.get(f"{site}/today", allow_redirects=False) as response):
            assert response.status == 303 and response.headers["Location"].startswith("/sign-in")


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
async def test_sign_in_never_redirects_off_site(site, target):
    async with browser() as http:
        async with http.get(f"{site}/sign-in") as response:
            csrf = csrf_of(await response.text())
        async with http.post(f"{site}/sign-in", data={"csrf_token": csrf, "token": ADMIN, "next": target},
                             allow_redirects=False) as response:
            assert response.headers["Location"] == "/today"


async def test_a_familys_policy_page_shows_its_history_and_what_applies_after_fallback(site):
    async with browser() as http:
        await signed_in(http, site, BILLING)
        async with http.get(f"{site}/policies/families/3") as response:
            assert response.status == 200
            page = await response.text()
    assert "Billing policy · Byron" in page and "admin:alice" in page
    assert re.search(r"<td>Rounding</td><td>up to 15 min</td><td[^>]*>this family</td>", page)
    assert re.search(r"<td>Full lesson</td><td>off</td><td[^>]*>this family</td>", page)
    assert re.search(r"<td>Minimum</td><td>at least 30 min</td><td[^>]*>every family \(default\)</td>", page)
    assert re.search(r"<td>No-show</td><td>a no-show bills nothing</td><td[^>]*>built-in</td>", page)
    assert re.search(r'name="rounding_unit" value="15"', page) and 'name="full_lesson_off" checked' in page
    assert 'name="no_students_minimum"' not in page  # a teacher-only field


async def test_a_policy_form_reaches_billing_as_a_policy_document(site, stand_in):
    async with browser() as http:
        csrf = await signed_in(http, site, ADMIN)
        form = {"csrf_token": csrf, "effective_from": "2026-03-01", "rounding_mode": "up", "rounding_unit": "15",
                "full_lesson_percent": "", "minimum": "", "no_show_percent": "", "late_cancel_off": "on"}
        async with http.post(f"{site}/policies/families/3", data=form, allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"].startswith("/policies/families/3?done=")
    puts = [r for r in stand_in.received if r[0] == "PUT"]
    assert puts == [("PUT", "/billing/policies/families/3", f"Bearer {ADMIN}",
                     {"effective_from": "2026-03-01", "rounding": {"unit_seconds": 900, "mode": "up"},
                      "late_cancel": None})]


async def test_a_bad_number_is_named_next_to_its_input_and_billing_is_not_asked(site, stand_in):
    async with browser() as http:
        csrf = await signed_in(http, site, ADMIN)
        form = {"csrf_token": csrf, "effective_from": "2026-03-01", "no_show_percent": "half"}
        async with http.post(f"{site}/policies/families/default", data=form) as response:
            assert response.status == 422
            page = await response.text()
    assert re.search(r'name="no_show_percent" value="half"[^>]*>\s*<p class="field-error"[^>]*>a whole number', page)
    assert not [r for r in stand_in.received if r[0] == "PUT"]


async def test_billings_problem_appears_next_to_the_policy_form(site, stand_in):
    stand_in.policy_problem = {"title": "Unprocessable Content", "status": 422,
                               "detail": "late_cancel.percent: must be between 0 and 100"}
    async with browser() as http:
        csrf = await signed_in(http, site, BILLING)
        form = {"csrf_token": csrf, "effective_from": "2026-03-01", "late_cancel_hours": "24",
                "late_cancel_percent": "150"}
        async with http.post(f"{site}/policies/families/default", data=form) as response:
            assert response.status == 422
            page = await response.text()
    assert "The policy was not saved: late_cancel.percent: must be between 0 and 100" in page
    assert re.search(r'name="late_cancel_percent" value="150"[^>]*>\s*<p class="field-error"[^>]*>must be between', page)
