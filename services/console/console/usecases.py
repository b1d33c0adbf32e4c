"""What each page needs, gathered from the three APIs with the signed-in user's token.

The console keeps no business data: each use case calls the APIs (console.clients), hands the
answers to the pure rules (today, timeline, candidates, months, policies) and returns what a template shows.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
from aiohttp import web

from console import candidates, months, policies, timeline
from console import today as today_rules
from console.clients.attendance import AttendanceApi
from console.clients.billing import BillingApi
from console.clients.scheduler import SchedulerApi
from console.clients.upstream import Upstream
from console.settings import Settings

HTTP_KEY = web.AppKey("console_http", aiohttp.ClientSession)
SETTINGS_KEY = web.AppKey("console_settings", Settings)
DETAIL_CONCURRENCY = 8  # log details fetched at once for one Class page
ROLE_ORDER = {"teacher": 0, "student": 1, "guest": 2}


@dataclass
class Apis:
    scheduler: SchedulerApi
    attendance: AttendanceApi
    billing: BillingApi
    settings: Settings


def apis(http: aiohttp.ClientSession, settings: Settings, token: str) -> Apis:
    def upstream(name: str, url: str) -> Upstream:
        return Upstream(http, name, url, token, settings.upstream_timeout_s)

    return Apis(SchedulerApi(upstream("scheduler", settings.scheduler_url)),
                AttendanceApi(upstream("attendance", settings.attendance_url)),
                BillingApi(upstream("billing", settings.billing_url)), settings)


# -- Today ------------------------------------------------------------------------------------

async def today(apis: Apis, now: datetime) -> dict:
    """Today's classes (scheduled start today in the academy's zone, ended or not), with their
    attendance logs so far."""
    settings = apis.settings
    day = today_rules.day_of(now, settings.timezone)
    classes, logs, status = await asyncio.gather(
        apis.scheduler.classes_starting(day[0], day[1], limit=settings.console_page_size),
        apis.attendance.logs_between(day[0], day[1], limit=500),
        apis.scheduler.status())
    by_class: dict[int, list[dict]] = {}
    for log in logs["items"]:
        by_class.setdefault(log["class_id"], []).append(log)
    lessons = list(classes["items"])
    rows = today_rules.board(lessons, by_class, day, now, timedelta(seconds=settings.teacher_missing_after_s))
    return {"rows": rows, "day": day[0], "now": now, "last_fetch": last_fetch(status),
            "failed_class_ids": status.get("failed_class_ids", []), "labels": today_rules.STATE_LABELS}


def last_fetch(status: dict) -> str | None:
    """The latest fetch the scheduler asked for, whatever the reason."""
    times = [t for job in status.get("jobs", []) for t in (job.get("last_fetch_requested_at") or {}).values() if t]
    return max(times, key=datetime.fromisoformat) if times else None


# -- Class ------------------------------------------------------------------------------------

async def class_page(apis: Apis, class_id: int, now: datetime) -> dict:
    lesson, logs = await asyncio.gather(apis.scheduler.lesson(class_id), apis.attendance.logs_of_class(class_id))
    gate = asyncio.Semaphore(DETAIL_CONCURRENCY)

    async def detail(log: dict) -> dict:
        async with gate:
            return await apis.attendance.log(log["log_id"])

    details = sorted(await asyncio.gather(*(detail(log) for log in logs)),
                     key=lambda d: (ROLE_ORDER.get(d["role"], 3), d.get("display_name") or "", d["log_id"]))
    start, end = (datetime.fromisoformat(lesson[k]) for k in ("scheduled_start", "scheduled_end"))
    picture = timeline.picture(start, end, [person_of(d) for d in details], now)
    return {"lesson": lesson, "logs": details, "picture": picture, "roster": roster(lesson),
            "devices": devices(details)}


def person_of(log: dict) -> timeline.Person:
    sessions = tuple(timeline.Session(datetime.fromisoformat(s["start_time"]),
                                      datetime.fromisoformat(s["end_time"]) if s.get("end_time") else None,
                                      s.get("participant") or s.get("name", ""))
                     for s in log.get("sessions", []))
    return timeline.Person(log.get("display_name") or log.get("email") or f"guest {log['log_id']}", log["role"],
                           sessions)


def devices(logs: list[dict]) -> int:
    return len({s.get("participant") for log in logs for s in log.get("sessions", [])})


def roster(lesson: dict) -> list[dict]:
    """Who a guest may be mapped to: the class's teacher and students."""
    teacher = lesson.get("teacher") or {}
    people = [{"key": f"teacher:{teacher['teacher_id']}", "name": teacher.get("name", ""), "role": "teacher"}] \
        if teacher.get("teacher_id") else []
    return people + [{"key": f"student:{s['student_id']}", "name": s.get("name", ""), "role": "student"}
                     for s in lesson.get("students", [])]


async def correct_log(apis: Apis, log_id: int, correction: dict) -> dict:
    return await apis.attendance.correct(log_id, correction)


async def map_guest(apis: Apis, log_id: int, person_key: str) -> dict:
    """Map a guest log to a roster person: by its Meet identity when it has one (remembered for later
    classes), otherwise that log only."""
    guest = await apis.attendance.log(log_id)
    role, _, person_id = person_key.partition(":")
    mapping: dict = {"person": {"role": role, "id": int(person_id)}}
    if guest.get("meet_user"):
        mapping["meet_user"] = guest["meet_user"]
    elif guest.get("email"):
        mapping["email"] = guest["email"]
    else:
        mapping["log_id"] = log_id
    return await apis.attendance.map(mapping)


# -- Unmatched --------------------------------------------------------------------------------

async def unmatched(apis: Apis, cursor: str | None) -> dict:
    page = await apis.attendance.unmatched(limit=apis.settings.console_page_size, cursor=cursor)
    class_ids = sorted({guest["class_id"] for guest in page["items"]})
    lessons = dict(zip(class_ids, await asyncio.gather(*(apis.scheduler.lesson(i) for i in class_ids)), strict=True))
    rows = [{"guest": guest, "lesson": lessons[guest["class_id"]],
             "candidates": candidates.ranked(guest, roster(lessons[guest["class_id"]]))}
            for guest in page["items"]]
    return {"rows": rows, "next_cursor": page.get("next_cursor")}


# -- Month ------------------------------------------------------------------------------------

async def month(apis: Apis, period: months.Period, party: str, after: int) -> dict:
    report, state = await asyncio.gather(
        apis.billing.statements(party, period.year, period.month, apis.settings.console_page_size, after),
        apis.billing.period(str(period)))
    return {"report": report, "statements": report.get(party, []), "period": period, "party": party,
            "state": state, "next_after": report.get("next_after"), "rules": months.rules_of(report, party)}


async def statement(apis: Apis, period: months.Period, party: str, party_id: int) -> dict | None:
    """One family's bill or teacher's pay statement (the page after the previous id holds it first)."""
    report = await apis.billing.statements(party, period.year, period.month, 1, party_id - 1)
    found = [s for s in report.get(party, []) if s.get(months.ID_FIELD[party]) == party_id]
    return {"report": report, "statement": found[0], "period": period, "party": party} if found else None


async def csv(apis: Apis, period: months.Period, party: str) -> bytes:
    return await apis.billing.csv(party, period.year, period.month)


async def close_month(apis: Apis, period: months.Period) -> dict:
    """Start the close: {"job_id": …} when billing runs it as a job, else the closed period."""
    reply = await apis.billing.close(str(period))
    location = reply.headers.get("Location", "")
    if reply.status == 202 and "/close-jobs/" in location:
        return {"job_id": location.rstrip("/").rsplit("/", 1)[-1]}
    return {"period": reply.body or {}}


async def close_job(apis: Apis, job_id: str) -> dict:
    job = await apis.billing.close_job(job_id)
    return {"job": job, "percent": months.percent(job)}


async def rates(apis: Apis, party: str, party_id: int) -> dict:
    person, entries = await asyncio.gather(apis.scheduler.person(party, party_id),
                                           apis.billing.rates(party, party_id))
    return {"person": person, "rates": entries.get("rates", []), "party": party}


async def set_rate(apis: Apis, party: str, party_id: int, rate: dict) -> dict:
    return await apis.billing.set_rate(party, party_id, rate)


async def policy(apis: Apis, party: str, which: str, now: datetime) -> dict:
    """One scope's history, its entry in force and, field by field, what applies after fallback."""
    one, every = policies.SCOPES[party]
    if which == "default":
        own, default, person = await apis.billing.policies(party, "default"), None, None
    else:
        own, default, person = await asyncio.gather(apis.billing.policies(party, which),
                                                    apis.billing.policies(party, "default"),
                                                    apis.scheduler.person(party, int(which)))
    history = own.get("policies", [])
    current = policies.in_force(history, now)
    layers = [(every if default is None else one, current)]
    if default is not None:
        layers.append((f"{every} (default)", policies.in_force(default.get("policies", []), now)))
    day = _local_day(current["effective_from"], apis.settings) if current else ""
    return {"party": party, "which": which, "person": person, "every": every, "current": current,
            "history": [{**entry, "summary": policies.summary(party, entry)} for entry in history],
            "effective": policies.effective(party, layers), "form": policies.form_of(current, day)}


def _local_day(instant: str, settings: Settings) -> str:
    return datetime.fromisoformat(instant).astimezone(settings.timezone).date().isoformat()


async def set_policy(apis: Apis, party: str, which: str, body: dict) -> dict:
    return await apis.billing.set_policy(party, which, body)


# -- Directory --------------------------------------------------------------------------------

async def directory(apis: Apis, collection: str, cursor: str | None) -> dict:
    size = apis.settings.console_page_size
    if collection == "classes":
        page = await apis.scheduler.upcoming_classes(limit=size, cursor=cursor)
    else:
        page = await apis.scheduler.people(collection, limit=size, cursor=cursor)
    return {"items": page["items"], "next_cursor": page.get("next_cursor"), "collection": collection}


async def schedule_choices(apis: Apis) -> dict:
    """The teachers and students a new class can have (the first 500 of each)."""
    teachers, students = await asyncio.gather(apis.scheduler.people("teachers", limit=500),
                                              apis.scheduler.people("students", limit=500))
    return {"teachers": [t for t in teachers["items"] if t.get("active", True)],
            "students": [s for s in students["items"] if s.get("active", True)]}


async def schedule_class(apis: Apis, new_class: dict) -> dict:
    return await apis.scheduler.schedule(new_class)


async def cancel_class(apis: Apis, class_id: int) -> dict:
    return await apis.scheduler.cancel(class_id)
