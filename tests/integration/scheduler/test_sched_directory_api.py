"""Teachers, families and students over HTTP; every change leaves as a versioned upserted event."""
from __future__ import annotations

import pytest

from tests.integration.scheduler.sched_support import settle
from tests.support.pages import every_item
from tests.support.services import ADMIN, BILLING, VIEWER


async def test_each_kind_is_created_read_and_published(http, tap, academy):
    teacher = await academy.teacher("Ada")
    family = await academy.family("Lovelace")
    student = await academy.student(family["family_id"], "Bo")
    assert teacher == {"id": teacher["teacher_id"], "teacher_id": teacher["teacher_id"], "name": "Ada",
                       "email": teacher["email"], "active": True, "version": 1}
    assert student["family_id"] == family["family_id"]
    for kind, entry in (("teacher", teacher), ("family", family), ("student", student)):
        [event] = await tap.wait(f"{kind}.upserted")
        assert event.data == {k: v for k, v in entry.items() if k != "id"}
        plural = "families" if kind == "family" else f"{kind}s"
        for headers in (VIEWER, BILLING):
            one = await http.get(f"/api/{plural}/{entry[f'{kind}_id']}", headers=headers)
            assert (one.status, await one.json()) == (200, entry)
        listing = await http.get(f"/api/{plural}", headers=VIEWER)
        assert await listing.json() == {"items": [entry], "next_cursor": None}


async def test_emails_are_unique_whatever_their_case(http, service, academy):
    await academy.post("/api/teachers", {"name": "Ada", "email": "Ada@School.org"})
    response = await http.post("/api/teachers", json={"name": "Other", "email": "ADA@school.ORG"}, headers=ADMIN)
    assert response.status == 409 and response.content_type == "application/problem+json"
    assert "ada@school.org" in (await response.json())["detail"]
    assert await service.pool.fetchval("SELECT count(*) FROM teachers") == 1


async def test_an_update_bumps_the_version_and_publishes_it(http, service, tap, academy):
    ada = await academy.teacher("Ada")
    url = f"/api/teachers/{ada['teacher_id']}"
    response = await http.patch(url, json={"name": "Ada Lovelace", "email": "ADA.L@school.org"}, headers=ADMIN)
    changed = await response.json()
    assert response.status == 200
    assert (changed["name"], changed["email"], changed["version"]) == ("Ada Lovelace", "ada.l@school.org", 2)
    same = await http.patch(url, json={"name": "Ada Lovelace"}, headers=ADMIN)
    assert (await same.json())["version"] == 2
    deactivated = await http.post(f"{url}/deactivate", headers=ADMIN)
    assert (await deactivated.json())["active"] is False
    await tap.wait("teacher.upserted", 3)
    await settle(service, tap)
    assert [e.data["version"] for e in tap.of("teacher.upserted")] == [1, 2, 3]
    inactive = await every_item(http, "/api/teachers", VIEWER, active=False)
    assert [t["teacher_id"] for t in inactive] == [ada["teacher_id"]]
    assert await every_item(http, "/api/teachers", VIEWER, active=True) == []


async def test_a_student_moves_only_to_an_existing_active_family(http, service, academy):
    home, other = await academy.family("Home"), await academy.family("Other")
    bo = await academy.student(home["family_id"])
    await academy.post(f"/api/families/{other['family_id']}/deactivate", {}, status=200)
    url = f"/api/students/{bo['student_id']}"
    for family_id in (other["family_id"], 999):
        response = await http.patch(url, json={"family_id": family_id}, headers=ADMIN)
        assert response.status == 422, await response.text()
    moved = await academy.post("/api/families", {"name": "Third", "email": "third@school.org"})
    response = await http.patch(url, json={"family_id": moved["family_id"]}, headers=ADMIN)
    assert (await response.json())["family_id"] == moved["family_id"]
    by_family = await every_item(http, "/api/students", VIEWER, family_id=moved["family_id"])
    assert [s["student_id"] for s in by_family] == [bo["student_id"]]


async def test_a_student_needs_an_active_family(http, service, academy):
    family = await academy.family()
    await academy.post(f"/api/families/{family['family_id']}/deactivate", {}, status=200)
    for family_id in (family["family_id"], 424242):
        response = await http.post("/api/students", json={"name": "Bo", "email": "bo@school.org",
                                                         "family_id": family_id}, headers=ADMIN)
        assert response.status == 422
    assert await service.pool.fetchval("SELECT count(*) FROM students") == 0


@pytest.mark.parametrize("body,status", [
    (b"{nope", 400),
    (b"[]", 422),
    (b'{"name": "Ada"}', 422),
    (b'{"name": "", "email": "ada@school.org"}', 422),
    (b'{"name": "   ", "email": "ada@school.org"}', 422),
    (b'{"name": "A\\u0000da", "email": "ada@school.org"}', 422),
    (b'{"name": "Ada", "email": "not-an-email"}', 422),
    (b'{"name": "Ada", "email": "ada@school.org", "role": "boss"}', 422),
    (b'{"name": "Ada", "email": "ada@school.org", "active": "maybe"}', 422),
])
async def test_bad_bodies_are_problems_and_store_nothing(http, service, body, status):
    response = await http.post("/api/teachers", data=body, headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status == status
    assert response.content_type == "application/problem+json"
    assert await service.pool.fetchval("SELECT count(*) FROM teachers") == 0


@pytest.mark.parametrize("path", ["/api/teachers/12345", "/api/families/abc", "/api/students/99999999999999999999",
                                  "/api/students/0"])
async def test_unknown_ids_are_404_problems(http, path):
    response = await http.get(path, headers=VIEWER)
    assert response.status == 404 and response.content_type == "application/problem+json"
    patched = await http.patch(path, json={"name": "X"}, headers=ADMIN)
    assert patched.status == 404


async def test_only_admins_write_and_only_tokens_read(http, service):
    body = {"name": "Ada", "email": "ada@school.org"}
    assert (await http.post("/api/teachers", json=body, headers=VIEWER)).status == 403
    assert (await http.post("/api/teachers", json=body, headers=BILLING)).status == 403
    assert (await http.get("/api/teachers")).status == 401
    assert await service.pool.fetchval("SELECT count(*) FROM teachers") == 0


async def test_a_bad_query_value_is_a_422(http):
    response = await http.get("/api/teachers?active=perhaps", headers=VIEWER)
    assert response.status == 422 and response.content_type == "application/problem+json"


@pytest.mark.parametrize("plural", ["teachers", "families", "students"])
async def test_lists_come_in_keyset_pages_of_at_most_500(http, academy, plural):
    home = await academy.family("Home")
    make = {"teachers": academy.teacher, "families": academy.family,
            "students": lambda: academy.student(home["family_id"])}[plural]
    made = [home["id"]] * (plural == "families") + [(await make())["id"] for _ in range(5)]
    first = await (await http.get(f"/api/{plural}", headers=VIEWER, params={"limit": "2"})).json()
    assert [e["id"] for e in first["items"]] == made[:2] and first["next_cursor"]
    made.append((await make())["id"])  # added between two pages: listed, once
    rest = await every_item(http, f"/api/{plural}", VIEWER, limit=2, cursor=first["next_cursor"])
    assert [e["id"] for e in first["items"] + rest] == made
    for bad in ({"limit": "0"}, {"limit": "501"}, {"cursor": "garbage"}, {"cursor": first["next_cursor"][:-2]}):
        response = await http.get(f"/api/{plural}", headers=VIEWER, params=bad)
        assert response.status == 422, (bad, await response.text())
    assert (await http.get(f"/api/{plural}", headers=VIEWER, params={"limit": "500"})).status == 200
