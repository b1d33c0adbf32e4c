"""The demo academy: a teacher, three students in two families, rates, and one class that
starts now, with a scripted Meet scenario that exercises what the system is for (late
arrival, a rejoin, two devices at once, a guest, an absentee)."""
from __future__ import annotations

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


async def _free_from(http: aiohttp.ClientSession, scheduler: str, admin: dict[str, str],
                     teacher_id: int) -> datetime:
    """When the demo teacher is free: a `make run` restarted while the last demo class still
    runs schedules the new one after it (a teacher cannot teach two classes at once)."""
    classes = await every_item(http, f"{scheduler}/api/schedule/classes", admin,
                               {"teacher_id": teacher_id, "upcoming_only": "true"})
    ends = [datetime.fromisoformat(c["scheduled_end"]) for c in classes if c["status"] != "cancelled"]
    return max(ends, default=datetime.now(UTC)) + timedelta(seconds=5)


async def every_item(http: aiohttp.ClientSession, url: str, headers: dict[str, str],
                     params: dict[str, str] | None = None) -> list[dict]:
    """All items of a paged list, following `next_cursor`."""
    items, cursor = [], None
    while True:
        async with http.get(url, headers=headers, params={**(params or {}), **({"cursor": cursor} if cursor else {}),
                                                          "limit": "500"}) as response:
            if response.status != 200:
                raise RuntimeError(f"GET {url} → {response.status}: {await response.text()}")
            page = await response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def seed(http: aiohttp.ClientSession, scheduler: str, billing: str, emulator: str,
               admin: dict[str, str], *, start_in_s: float = 15, minutes: int = 2) -> DemoClass:
    """Create the academy through the public APIs, then script the class on the emulator."""
    async def post(url: str, body: dict) -> dict:
        async with http.post(url, json=body, headers=admin) as response:
            payload = await response.json()
            if response.status >= 300:
                raise RuntimeError(f"POST {url} → {response.status}: {payload}")
            return payload

    async def put(url: str, body: dict) -> None:
        async with http.put(url, json=body, headers=admin) as response:
            if response.status >= 300:
                raise RuntimeError(f"PUT {url} → {response.status}: {await response.text()}")

    async def existing_or_new(collection: str, body: dict) -> dict:
        """The demo academy survives restarts: a second `make run` reuses its people."""
        for entry in await every_item(http, f"{scheduler}/api/{collection}", admin):
            if entry["email"].lower() == body["email"].lower():
                return entry
        return await post(f"{scheduler}/api/{collection}", body)

    teacher = await existing_or_new("teachers", TEACHER)
    families = [await existing_or_new("families", family) for family in FAMILIES]
    students = [await existing_or_new("students", {**student, "family_id": families[i]["id"]})
                for i, student in STUDENTS]
    since = "2000-01-01T00:00:00Z"
    for family in families:
        await put(f"{billing}/billing/rates/families/{family['id']}",
                  {"hourly_rate_cents": FAMILY_RATE_CENTS, "currency": "EUR", "effective_from": since})
    await put(f"{billing}/billing/rates/teachers/{teacher['id']}",
              {"hourly_rate_cents": TEACHER_RATE_CENTS, "currency": "EUR", "effective_from": since})
    start = max(datetime.now(UTC) + timedelta(seconds=start_in_s),
                await _free_from(http, scheduler, admin, teacher["id"])).replace(microsecond=0)
    created = await post(f"{scheduler}/api/schedule/classes", {
        "title": "Demo: analytical engines", "teacher_id": teacher["id"],
        "student_ids": [s["id"] for s in students], "start": start.isoformat(), "duration_minutes": minutes,
    })
    demo = DemoClass(created["id"], created["space_name"], created["meeting_code"], start,
                     start + timedelta(minutes=minutes))
    await post(f"{emulator}/emulator/scenario", scenario(demo))
    return demo
