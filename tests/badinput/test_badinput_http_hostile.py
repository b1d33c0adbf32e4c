"""Hand-written hostile requests: injection-shaped and unicode-heavy text, huge and wrong bodies,
numbers and dates out of range, ids that are not ids. Each is answered as listed, rejections as
problem+json with nothing stored; accepted hostile text is stored and returned verbatim."""
from __future__ import annotations

import json
import uuid

import pytest

from tests.badinput.openapi_requests import Request
from tests.badinput.problems import assert_problem, send
from tests.badinput.stacks import Snapshots
from tests.support.pages import every_item
from tests.support.services import ADMIN, BILLING

BIG = 2**63
NASTY_NAMES = ["'; DROP TABLE teachers; --", "1 OR 1=1", "Robert'); DELETE FROM students;--",
               "\u202eنور الهدى\u202c", "👩‍🏫 Ada 🧮", "Zalgo z̴̧̛a̷l̶g̵o", "Ø\u0301\u0308\u0327", "\\x00 not a nul"]


def req(method: str, path: str, body=None, *, raw: bytes | None = None, content_type: str = "application/json",
        **query) -> Request:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    return Request(method, path, {k: str(v) for k, v in query.items()}, data, content_type if data is not None else None)


def person(**changes):
    return {"name": "Ada", "email": f"ada-{uuid.uuid4().hex[:6]}@school.org", **changes}


def new_class(**changes):
    return {"title": "Algebra", "teacher_id": 1, "student_ids": [1], "start": "2031-01-01T10:00:00Z",
            "duration_minutes": 60, **changes}


SCHEDULER = [
    req("POST", "/api/teachers", person(name="Ada\x00Lovelace")),
    req("POST", "/api/teachers", person(name="x" * 10_000)),
    req("POST", "/api/teachers", person(email="x" * 10_000 + "@school.org")),
    req("POST", "/api/teachers", person(email="x@y.org'; DROP TABLE teachers;--")),
    req("POST", "/api/teachers", person(email="1 OR 1=1")),
    req("POST", "/api/teachers", person(name=123, email=True)),
    req("POST", "/api/teachers", person(name=None)),
    req("POST", "/api/teachers", person(extra="field")),
    req("POST", "/api/teachers", [person()]),
    req("POST", "/api/teachers", raw=b"null"),
    req("POST", "/api/teachers", raw=b'"just a string"'),
    req("POST", "/api/teachers", raw=b"{not json"),
    req("POST", "/api/teachers", raw=b"\xff\xfe\xfd"),
    req("POST", "/api/teachers", raw=b"name=Ada&email=a%40b.org", content_type="application/x-www-form-urlencoded"),
    req("POST", "/api/teachers", raw=b"hello", content_type="text/plain"),
    req("POST", "/api/teachers", raw=b"<teacher/>", content_type="application/xml"),
    req("POST", "/api/students", {**person(), "family_id": BIG}),
    req("POST", "/api/students", {**person(), "family_id": -1}),
    req("POST", "/api/students", {**person(), "family_id": "1 OR 1=1"}),
    req("POST", "/api/students", raw=b'{"name": "Bo", "email": "bo@school.org", "family_id": 1e309}'),
    req("POST", "/api/students", raw=b'{"name": "Bo", "email": "bo@school.org", "family_id": NaN}'),
    req("POST", "/api/students", {**person(), "family_id": 1.5}),
    req("POST", "/api/schedule/classes", new_class(start="2026-13-45T99:00:00Z")),
    req("POST", "/api/schedule/classes", new_class(start="2031-01-01T10:00:00")),  # naive
    req("POST", "/api/schedule/classes", new_class(start="2031-01-01T10:00:00+25:00")),
    req("POST", "/api/schedule/classes", new_class(start="2031-01-01T10:00:00 Europe/Nowhere")),
    req("POST", "/api/schedule/classes", new_class(start="yesterday")),
    req("POST", "/api/schedule/classes", new_class(start="99999-01-01T00:00:00Z")),
    req("POST", "/api/schedule/classes", new_class(duration_minutes=BIG)),
    req("POST", "/api/schedule/classes", new_class(duration_minutes=-1)),
    req("POST", "/api/schedule/classes", new_class(teacher_id=BIG)),
    req("POST", "/api/schedule/classes", new_class(student_ids=[BIG, -1])),
    req("POST", "/api/schedule/classes", new_class(student_ids=list(range(1, 10_000)))),
    req("POST", "/api/schedule/classes", new_class(meeting_code="'; DROP TABLE classes; --")),
    req("PATCH", "/api/schedule/classes/1", {"start": "2031-02-30T10:00:00Z"}),
    req("GET", "/api/teachers", active="1 OR 1=1"),
    req("GET", "/api/students", family_id="1 OR 1=1"),
    req("GET", "/api/students", family_id=BIG),
    req("GET", "/api/students", family_id=-1),
    req("GET", "/api/schedule/classes", teacher_id="'; DROP TABLE classes; --", upcoming_only="maybe"),
    *[req("GET", f"/api/teachers/{bad}") for bad in ("abc", "-1", "0", str(BIG), "9" * 40, "1e3", "%00", "1%20OR%201=1")],
    *[req("POST", f"/monitoring/sync-participants/{bad}") for bad in ("abc", str(BIG), "-5")],
    req("POST", "/api/teachers", raw=json.dumps(person(name="x" * (1024 * 1024 + 10))).encode()),
    # found by test_badinput_openapi.py's generators: each was a 500 (or a bare text/plain 400)
    req("POST", "/api/teachers", raw=b'{"name": "Ada", "email": "ada\\udfff@school.org"}'),  # lone surrogate
    req("POST", "/api/teachers", raw=b"1" * 5000),  # more digits than int() converts
    req("POST", "/api/schedule/classes", new_class(start="0001-01-01T00:00:00+14:00")),  # no UTC datetime
    req("POST", "/api/schedule/classes", new_class(start="9999-12-31T23:59:59-01:00")),
    req("GET", "/api/teachers", active="x" * 10_000),  # a request line past aiohttp's default 8190 bytes
    req("GET", "/api/teachers/" + "9" * 10_000),
]
ATTENDANCE = [
    req("GET", "/monitoring/attendance-logs", **{"from": "2026-11-25T10:00:00"}),
    req("GET", "/monitoring/attendance-logs", **{"from": "2026-11-25T10:00:00+99:00"}),
    req("GET", "/monitoring/attendance-logs", to="2026-02-30T00:00:00Z"),
    req("GET", "/monitoring/attendance-logs", class_id=BIG),
    req("GET", "/monitoring/attendance-logs", class_id="1 OR 1=1"),
    req("GET", "/monitoring/attendance-logs", session_id="'; DROP TABLE attendance_logs; --"),
    req("GET", "/monitoring/attendance-logs", user_email="x" * 400),
    req("GET", "/monitoring/attendance-logs", limit=BIG, cursor="not-a-cursor"),
    req("GET", "/monitoring/attendance-logs", limit=-1),
    req("GET", "/monitoring/unmatched", class_id=-1, cursor="\u202e👩‍🏫"),
    *[req("GET", f"/monitoring/attendance-logs/{bad}") for bad in ("abc", str(BIG), "-1", "%F0%9F%92%A9")],
    req("POST", "/monitoring/attendance-logs/1/corrections", {"reason": "x", "billable_seconds": BIG}),
    req("POST", "/monitoring/attendance-logs/1/corrections", {"reason": "x", "billable_seconds": -1}),
    req("POST", "/monitoring/attendance-logs/1/corrections", {"reason": "x\x00", "status": "present"}),
    req("POST", "/monitoring/attendance-logs/1/corrections", {"reason": "x" * 10_000, "status": "present"}),
    req("POST", "/monitoring/attendance-logs/1/corrections", {"reason": "x", "status": "'; DROP TABLE x; --"}),
    req("POST", "/monitoring/unmatched/mappings", {"identity": "x\x00", "person": {"role": "student", "id": BIG}}),
    req("POST", "/monitoring/unmatched/mappings", raw=b"x" * (2 * 1024 * 1024)),
    req("GET", "/monitoring/attendance-logs", **{"from": "0001-01-01T00:00:00+01:00"}),  # was a 500
    req("GET", "/monitoring/attendance-logs", to="9999-12-31T23:59:59-01:00"),
]
RATE = {"hourly_rate_cents": 3000, "currency": "EUR", "effective_from": "2026-11-01"}
BILLING_CASES = [
    *[req("GET", "/monitoring/billing/families", year=y, month=m)
      for y, m in ((99999, 1), (2026, 13), (2026, 0), (BIG, 1), ("1 OR 1=1", 1), (2026, "1e309"), (-1, -1))],
    req("GET", "/monitoring/payroll/teachers", year=2026, month=1, limit=BIG, after=-1),
    req("GET", "/monitoring/payroll/teachers"),
    req("PUT", "/billing/rates/families/1", {**RATE, "hourly_rate_cents": BIG}),
    req("PUT", "/billing/rates/families/1", {**RATE, "hourly_rate_cents": -1}),
    req("PUT", "/billing/rates/families/1", {**RATE, "hourly_rate_cents": 30.5}),
    req("PUT", "/billing/rates/families/1", raw=b'{"hourly_rate_cents": 1e309, "currency": "EUR", "effective_from": "2026-11-01"}'),
    req("PUT", "/billing/rates/families/1", {**RATE, "currency": "€€€"}),
    req("PUT", "/billing/rates/families/1", {**RATE, "currency": "EUR'; --"}),
    req("PUT", "/billing/rates/teachers/1", {**RATE, "effective_from": "2026-02-30"}),
    req("PUT", "/billing/rates/teachers/1", {**RATE, "effective_from": "2026-11-01T10:00:00"}),
    req("PUT", "/billing/rates/teachers/1", {**RATE, "effective_from": "2026-11-01T10:00:00+30:00"}),
    req("PUT", "/billing/rates/teachers/1", {**RATE, "effective_from": "10000-01-01"}),
    req("PUT", "/billing/rates/teachers/1", {**RATE, "effective_from": "2026-11-01\x00"}),
    req("PUT", "/billing/rates/teachers/1", raw=b"currency=EUR", content_type="application/x-www-form-urlencoded"),
    *[req("PUT", f"/billing/rates/families/{bad}", RATE) for bad in ("abc", str(BIG), "-1", "0", "1%27%3B--")],
    *[req("GET", f"/billing/periods/{bad}") for bad in ("2026-13", "9999-99", "abc", "2026-1", "%00", "99999-01")],
    *[req("POST", f"/billing/periods/{bad}/close") for bad in ("2026-13", "'; DROP TABLE periods; --", "0000-00")],
    *[req("PUT", "/billing/policies/families/default", raw=body) for body in (
        b'{"effective_from": "2026-11-01", "minimum_seconds": 1e309}',
        b'{"effective_from": "2026-11-01", "minimum_seconds": NaN}',
        b'{"effective_from": "2026-11-01", "rounding": {"unit_seconds": -Infinity, "mode": "up"}}',
        b'{"effective_from": "2026-11-01", "late_cancel": {"within_hours": 1e400, "percent": 50}}')],
    req("PUT", "/billing/policies/families/1", {"effective_from": "2026-11-01", "minimum_seconds": BIG}),
    req("PUT", "/billing/policies/teachers/1", {"effective_from": "2026-11-01", "rounding": {"unit_seconds": 0,
                                                                                            "mode": "up"}}),
    req("PUT", "/billing/policies/teachers/default", {"effective_from": "2026-11-01", "rounding": "up"}),
    req("PUT", "/billing/policies/teachers/default", {"effective_from": "2026-11-01", "late_cancel": [24, 50]}),
    req("PUT", "/billing/policies/teachers/default", {"effective_from": "2026-11-01", "rounding": {
        "unit_seconds": 60, "mode": {"$ne": 1}}}),
    req("PUT", "/billing/policies/families/default", {"effective_from": "0001-01-01"}),
    *[req("PUT", f"/billing/policies/families/{bad}", {"effective_from": "2026-11-01"})
      for bad in ("abc", str(BIG), "-1", "0", "defaults")],
    # stored, then a 500 on every read of the history: PostgreSQL hands 0001-01-01T00:00Z back naive
    req("PUT", "/billing/rates/families/1", {**RATE, "effective_from": "0001-01-01"}),
    req("PUT", "/billing/rates/teachers/1", {**RATE, "effective_from": "9999-12-31"}),
    req("PUT", "/billing/rates/teachers/1", {**RATE, "effective_from": "1969-12-31T23:59:59Z"}),
    req("POST", "/billing/periods/\u0662\u0660\u0662\u0666-\u0661\u0660/close"),  # "2026-10" in Arabic-Indic digits
]


async def check_rejected(service, http, request: Request, headers) -> None:
    snapshots = Snapshots(service)
    before = await snapshots.take()
    status, content_type, body = await send(http, request, headers)
    assert_problem(status, content_type, body, request)
    assert await snapshots.take() == before, f"{request!r} was rejected ({status}) but stored data"


@pytest.mark.parametrize(("name", "headers", "cases"), [
    ("scheduler", ADMIN, SCHEDULER), ("attendance", ADMIN, ATTENDANCE), ("billing", BILLING, BILLING_CASES)])
async def test_hostile_requests_are_rejected_as_problems_and_store_nothing(name, headers, cases, start, client):
    async with start(name) as service, client(service) as http:
        for request in cases:
            await check_rejected(service, http, request, headers)


async def test_a_body_over_one_megabyte_is_413(start, client):
    async with start("scheduler") as service, client(service) as http:
        status, content_type, body = await send(http, req("POST", "/api/families", raw=b" " * (1024 * 1024 + 1)), ADMIN)
        assert status == 413
        assert_problem(status, content_type, body)


async def test_injection_shaped_and_unicode_names_are_stored_verbatim(start, client):
    async with start("scheduler") as service, client(service) as http:
        for name in NASTY_NAMES:
            email = f"t{uuid.uuid4().hex[:6]}@school.org"
            async with http.post("/api/teachers", json={"name": name, "email": email}, headers=ADMIN) as answer:
                assert answer.status == 201, await answer.text()
                teacher = await answer.json()
            async with http.get(f"/api/teachers/{teacher['id']}", headers=ADMIN) as answer:
                assert (await answer.json())["name"] == name
        assert sorted(t["name"] for t in await every_item(http, "/api/teachers", ADMIN)) == sorted(NASTY_NAMES)


async def test_a_json_body_is_read_as_utf8_whatever_charset_the_request_names(start, client):
    """JSON has no charset parameter (RFC 8259); an unknown one was a 500 (LookupError)."""
    async with start("scheduler") as service, client(service) as http:
        for charset in ("bogus", "latin-1"):
            body = json.dumps(person(name="Zoë"), ensure_ascii=False).encode()
            headers = {**ADMIN, "Content-Type": f"application/json; charset={charset}"}
            async with http.post("/api/teachers", data=body, headers=headers) as answer:
                assert answer.status == 201, await answer.text()
                assert (await answer.json())["name"] == "Zoë"


async def test_ids_in_paths_are_ascii_digits_only(start, client):
    async with start("scheduler") as service, client(service) as http:
        async with http.post("/api/teachers", json=person(), headers=ADMIN) as answer:
            assert (await answer.json())["id"] == 1
        for almost_one in ("+1", "%201", "0_1", "\u0661", "01%0A"):
            await check_rejected(service, http, req("GET", f"/api/teachers/{almost_one}"), ADMIN)
        async with http.get("/api/teachers/1", headers=ADMIN) as answer:
            assert answer.status == 200


async def test_an_email_with_a_nul_byte_is_a_422(start, client):
    async with start("scheduler") as service, client(service) as http:
        await check_rejected(service, http, req("POST", "/api/teachers", person(email="ada\x00@school.org")), ADMIN)


async def test_a_nul_byte_in_a_query_filter_is_a_422(start, client):
    async with start("attendance") as service, client(service) as http:
        await check_rejected(service, http, req("GET", "/monitoring/attendance-logs", user_email="a\x00@b.org"), ADMIN)


async def test_a_deeply_nested_body_is_a_400(start, client):
    async with start("attendance") as service, client(service) as http:
        await check_rejected(service, http, req("POST", "/monitoring/unmatched/mappings", raw=b"[" * 100_000), ADMIN)


async def test_an_id_in_a_body_must_be_a_json_number(start, client):
    """`true`, `"1"` and `1.5` are not family 1: a typo must not file a student under a family (`1.0` is
    the integer 1, as JSON Schema says)."""
    async with start("scheduler") as service, client(service) as http:
        async with http.post("/api/families", json=person(), headers=ADMIN) as answer:
            family_id = (await answer.json())["id"]
        assert family_id == 1
        for bad in (True, "1", 1.5):
            await check_rejected(service, http, req("POST", "/api/students", {**person(), "family_id": bad}), ADMIN)
        await check_rejected(service, http, req("POST", "/api/schedule/classes", new_class(duration_minutes="60")),
                             ADMIN)
        await check_rejected(service, http, req("PATCH", "/api/students/1", {"active": "false"}), ADMIN)
        async with http.post("/api/students", json={**person(), "family_id": family_id}, headers=ADMIN) as answer:
            assert answer.status == 201, await answer.text()


async def test_a_body_not_sent_as_json_is_415_even_when_it_parses(start, client):
    async with start("scheduler") as service, client(service) as http:
        body = json.dumps(person()).encode()
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/octet-stream"):
            request = req("POST", "/api/teachers", raw=body, content_type=content_type)
            status, _, _ = await send(http, request, ADMIN)
            assert status == 415, content_type
            await check_rejected(service, http, request, ADMIN)
        status, _, _ = await send(http, req("POST", "/api/teachers", raw=body), ADMIN)
        assert status == 201
