"""The Month page's rules (no I/O): billing periods, money typed in a form, close progress, policies."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

ID_FIELD = {"families": "family_id", "teachers": "teacher_id"}
PARTIES = {"families": "Family bills", "teachers": "Teacher payroll"}
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
_AMOUNT = re.compile(r"^\d{1,9}([.,]\d{1,2})?$", re.ASCII)


@dataclass(frozen=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text or "")
        if not match or not 1 <= int(match[2]) <= 12 or not 2000 <= int(match[1]) <= 2100:
            raise ValueError(f"{text!r} is not a month (YYYY-MM)")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, now: datetime, zone: ZoneInfo) -> Period:
        local = now.astimezone(zone)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def previous(self) -> Period:
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    @property
    def next(self) -> Period:
        return Period(self.year + 1, 1) if self.month == 12 else Period(self.year, self.month + 1)


def cents(text: str) -> int:
    """`30`, `30.5`, `30,50` → 3000, 3050, 3050; anything else is a ValueError."""
    text = (text or "").strip()
    if not _AMOUNT.match(text):
        raise ValueError("an amount like 30 or 30.50")
    try:
        return int(Decimal(text.replace(",", ".")) * 100)
    except InvalidOperation:
        raise ValueError("an amount like 30 or 30.50") from None


def percent(job: dict) -> int:
    """How far a close job is, 0-100 (100 once done, whatever the counts say)."""
    if job.get("state") == "done":
        return 100
    total, done = job.get("lines_total") or 0, job.get("lines_done") or 0
    return min(100, int(done * 100 / total)) if total else 0


def rules_of(report: dict, party: str) -> list[dict]:
    """Per-rule totals of the page's statements (billing's `totals_by_rule`, where it gives them)."""
    totals: dict[tuple[str, str], dict] = {}
    for statement in report.get(party, []):
        for entry in statement.get("totals_by_rule") or []:
            key = (str(entry.get("rule", "")), str(entry.get("currency", "")))
            total = totals.setdefault(key, {"rule": key[0], "currency": key[1], "amount_cents": 0, "lines": 0})
            total["amount_cents"] += int(entry.get("amount_cents") or 0)
            total["lines"] += int(entry.get("lines") or entry.get("line_count") or 0)
    return sorted(totals.values(), key=lambda t: (t["rule"], t["currency"]))


def policy_from_form(current: dict, form: dict[str, str]) -> dict:
    """A policy document from its form: each scalar field of `current`, typed like it is there."""
    policy = {}
    for key, value in current.items():
        if isinstance(value, bool):
            policy[key] = form.get(key) == "on"
        elif isinstance(value, int) and key in form:
            policy[key] = int(form[key])
        elif isinstance(value, float) and key in form:
            policy[key] = float(form[key])
        elif isinstance(value, str) and key in form:
            policy[key] = form[key]
    return policy


def editable(policy: dict | None) -> list[tuple[str, object]]:
    """The fields of a policy a form can edit: scalars, not ids or audit stamps."""
    skip = {"family_id", "teacher_id", "updated_at", "updated_by", "scope", "id"}
    return [(k, v) for k, v in (policy or {}).items()
            if k not in skip and isinstance(v, bool | int | float | str)]
