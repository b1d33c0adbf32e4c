"""The demo academy: a teacher, three students in two families, rates, and one class that
starts now, with a scripted Meet scenario that exercises what the system is for (late
arrival, a rejoin, two devices at once, a guest, an absentee)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp

TEACHER = {"name": "Ada Lovelace", "email": "ada@demo-academy.org"}
FAMILIES = [
    {"name": "Byron family", "email": "byron@families.example"},
    {"name": "Somerville family", "email": "somerville@families.example"},
]
STUDENTS = [  # (family index, student)
    (0, {"name": "Allegra Byron", "email": "allegra@students.example"}),
    (0, {"name": "George Byron", "email": "george@students.example"}),
    (1, {"name": "Mary Somerville", "email": "mary@students.example"}),
]
CLASS_TITLE = "Demo: analytical engines"
FAMILY_RATE_CENTS = 3000   # 30.00 an hour
TEACHER_RATE_CENTS = 4500  # 45.00 an hour
USER_IDS = {"ada@demo-academy.org": "1001", "allegra@students.example": "2001",
            "george@students.example": "2002", "mary@students.example": "2003"}


@dataclass
class DemoClass:
    class_id: int
    space_name: str
    meeting_code: str
    start: datetime
    end: datetime


def scenario(demo: DemoClass) -> dict:
    """Who joins and leaves when, relative to the class window (absolute times)."""
    start, end = demo.start, demo.end
    length = (end - start).total_seconds()

    def at(seconds: float) -> str:
        return (start + timedelta(seconds=seconds)).isoformat()

    def user(email: str, name: str, sessions: list[tuple[float, float | None]]) -> dict:
        return {"kind": "signedin", "user_id": USER_IDS[email], "display_name": name,
                "sessions": [{"join": at(a), "leave": at(b) if b is not None else None} for a, b in sessions]}

    return {
        "people": [{"user_id": uid, "email": email, "display_name": email.split("@")[0]}
                   for email, uid in USER_IDS.items()],
        "conferences": [{
            "space": demo.space_name, "start": at(-20), "end": at(length + 15),
            "participants": [
                user("ada@demo-academy.org", "Ada Lovelace", [(-20, length + 10)]),
                # on time, drops out for a while and rejoins
                user("allegra@students.example", "Allegra", [(0, length * 0.4), (length * 0.5, length)]),
                # late, and on two devices at once for a while (counted once)
                user("mary@students.example", "Mary", [(length * 0.25, length), (length * 0.5, length * 0.75)]),
                {"kind": "anonymous", "display_name": "Curious visitor",
                 "sessions": [{"join": at(length * 0.1), "leave": at(length * 0.2)}]},
                # George never joins: an absent log
            ],
        }],
    }


class SeedError(Exception):
    """One step of the seed failed: a single line for the user."""


class Api:
    """The public APIs as the seed uses them: JSON in and out, a failure as a SeedError."""

    def __init__(self, http: aiohttp.ClientSession, admin: dict[str, str]):
        self.http, self.admin = http, admin

    async def call(self, method: str, url: str, body: dict | None = None, params: dict | None = None) -> dict:
        try:
            async with self.http.request(method, url, json=body, params=params, headers=self.admin) as response:
                text = await response.text()
        except aiohttp.ClientError as exc:
            raise SeedError(f"{method} {url}: {type(exc).__name__}") from None
        if response.status >= 300:
            raise SeedError(f"{method} {url} → {response.status}: {_detail(text)}")
        return json.loads(text) if text else {}

    async def every_item(self, url: str, **params: str) -> list[dict]:
        """All items of a paged list, following `next_cursor`."""
        items, cursor = [], None
        while True:
            page = await self.call("GET", url, params={**params, "limit": "500", **({"cursor": cursor} if cursor else {})})
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items


def _detail(text: str) -> str:
    try:
        problem = json.loads(text)
    except ValueError:
        return text[:200]
    return str(problem.get("detail") or problem.get("title") or problem)[:200] if isinstance(problem, dict) else text


def repairs(found: dict, wanted: dict) -> dict:
    """The PATCH that makes a found record what the demo designs (active, and every field)."""
    target = {**wanted, "active": True}
    return {key: value for key, value in target.items()
            if (found.get(key).lower() if key == "email" else found.get(key)) != value}


def by_email(records: list[dict]) -> dict[str, dict]:
    return {record["email"].lower(): record for record in records}


async def ensure(api: Api, scheduler: str, collection: str, wanted: dict, existing: dict[str, dict]) -> dict:
    """The demo record: recreated when missing, reactivated and restored when changed."""
    found = existing.get(wanted["email"])
    if found is None:
        return await api.call("POST", f"{scheduler}/api/{collection}", wanted)
    patch = repairs(found, wanted)
    return await api.call("PATCH", f"{scheduler}/api/{collection}/{found['id']}", patch) if patch else found


async def directory(api: Api, scheduler: str) -> tuple[dict, list[dict]]:
    """The demo teacher and students, as designed."""
    teachers = by_email(await api.every_item(f"{scheduler}/api/teachers"))
    teacher = await ensure(api, scheduler, "teachers", TEACHER, teachers)
    known = by_email(await api.every_item(f"{scheduler}/api/families"))
    families = [await ensure(api, scheduler, "families", family, known) for family in FAMILIES]
    known = by_email(await api.every_item(f"{scheduler}/api/students"))
    students = [await ensure(api, scheduler, "students", {**student, "family_id": families[i]["id"]}, known)
                for i, student in STUDENTS]
    return teacher, families + students


async def rates(api: Api, billing: str, teacher: dict, families: list[dict]) -> None:
    since = "2000-01-01T00:00:00Z"
    for family in families:
        await api.call("PUT", f"{billing}/billing/rates/families/{family['id']}",
                       {"hourly_rate_cents": FAMILY_RATE_CENTS, "currency": "EUR", "effective_from": since})
    await api.call("PUT", f"{billing}/billing/rates/teachers/{teacher['id']}",
                   {"hourly_rate_cents": TEACHER_RATE_CENTS, "currency": "EUR", "effective_from": since})


GAP = timedelta(seconds=5)


def first_free(earliest: datetime, length: timedelta, busy: list[tuple[datetime, datetime]]) -> datetime:
    """The first start from `earliest` at which a class of `length` overlaps none of `busy`
    (with a few seconds between classes: a teacher cannot teach two at once)."""
    start = earliest
    for begin, end in sorted(busy):
        if begin < start + length + GAP and end + GAP > start:
            start = end + GAP
    return start


async def demo_start(api: Api, scheduler: str, teacher_id: int, earliest: datetime, length: timedelta) -> datetime:
    """When the new demo class starts. A demo class that has not started yet (an earlier run's,
    perhaps interrupted) is cancelled; the teacher's other classes are kept and avoided."""
    busy = []
    for lesson in await api.every_item(f"{scheduler}/api/schedule/classes",
                                       teacher_id=str(teacher_id), upcoming_only="true"):
        if lesson["status"] == "cancelled":
            continue
        begin, end = (datetime.fromisoformat(lesson[k]) for k in ("scheduled_start", "scheduled_end"))
        if lesson["title"] == CLASS_TITLE and begin > datetime.now(UTC):
            try:
                await api.call("POST", f"{scheduler}/api/schedule/classes/{lesson['id']}/cancel")
                continue
            except SeedError:  # it started meanwhile
                pass
        busy.append((begin, end))
    return first_free(earliest, length, busy)


async def seed(http: aiohttp.ClientSession, scheduler: str, billing: str, emulator: str,
               admin: dict[str, str], *, start_in_s: float = 15, minutes: int = 2,
               warn=print) -> DemoClass | None:
    """Make the demo academy exist as designed through the public APIs, whatever they hold,
    then script its class on the emulator. Each step that fails is one `warn` line; None
    when there is no demo class."""
    api = Api(http, admin)
    try:
        teacher, people = await directory(api, scheduler)
    except SeedError as exc:
        warn(f"demo: the demo directory could not be made ({exc})")
        return None
    families, students = people[:len(FAMILIES)], people[len(FAMILIES):]
    try:
        await rates(api, billing, teacher, families)
    except SeedError as exc:
        warn(f"demo: the demo rates could not be set; bills show no amounts ({exc})")
    try:
        earliest = datetime.now(UTC) + timedelta(seconds=start_in_s)
        start = (await demo_start(api, scheduler, teacher["id"], earliest, timedelta(minutes=minutes))
                 ).replace(microsecond=0)
        created = await api.call("POST", f"{scheduler}/api/schedule/classes", {
            "title": CLASS_TITLE, "teacher_id": teacher["id"], "student_ids": [s["id"] for s in students],
            "start": start.isoformat(), "duration_minutes": minutes,
        })
        demo = DemoClass(created["id"], created["space_name"], created["meeting_code"], start,
                         start + timedelta(minutes=minutes))
        await api.call("POST", f"{emulator}/emulator/scenario", scenario(demo))
    except SeedError as exc:
        warn(f"demo: the demo class could not be scheduled ({exc})")
        return None
    return demo
