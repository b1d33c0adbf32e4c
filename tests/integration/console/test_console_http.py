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


class StandIn:
    """One aiohttp app playing scheduler, attendance and billing; records what it was sent."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, str, object]] = []
        self.queries: list[tuple[str, dict[str, str]]] = []
        self.correction_problem: dict | None = None
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
        canned = {
            "/api/schedule/classes": {"items": [LESSON], "next_cursor": None},
            "/api/schedule/classes/1": LESSON,
            "/monitoring/status": {"jobs": [{"last_fetch_requested_at": {"active": "2026-03-02T10:05:00Z"}}],
                                   "failed_class_ids": []},
            "/monitoring/attendance-logs": {"items": [LOG], "next_cursor": None},
            "/monitoring/attendance-logs/7": LOG,
            "/monitoring/attendance-logs/7/corrections": LOG,
            "/monitoring/unmatched": {"items": [], "next_cursor": None},
            "/monitoring/billing/families": {"families": [], "totals": [], "next_after": None},
            "/billing/periods/2026-03": {"period": "2026-03", "status": "open"},
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
                     "/month/2026-03/close"):
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
