"""Billing policies: how a line's measured seconds become the seconds it bills (or pays).

No I/O. An entry is effective-dated like a rate and names only the fields it sets; for a
line, each field comes from the party's own entry in force at the class start, else the
default scope's (every family / every teacher), else the built-in value. The built-in
policy bills exactly what was measured, as before policies existed.

Order (docs/architecture.md, "Billing policies"): measured → full lesson → minimum →
rounding; no-show and late-cancel lines start from a share of the scheduled length, then
round. Nothing bills more than the scheduled length (or the measured seconds, when a class
was shortened after the fact). An admin's correction is the admin's decision of what the
lesson is worth: the corrected seconds are billed as given, no rule applies (`corrected`).
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from billing.rates import Party

Mode = Literal["up", "down", "nearest"]
DEFAULT_SCOPE = 0  # party_id of the entries that apply to every family (teacher)

FAMILY_FIELDS = ("rounding", "full_lesson_percent", "minimum_seconds", "no_show_percent", "late_cancel")
TEACHER_FIELDS = ("rounding", "full_lesson_percent", "minimum_seconds", "late_cancel", "no_students_minimum_seconds")
FIELDS: dict[Party, tuple[str, ...]] = {"family": FAMILY_FIELDS, "teacher": TEACHER_FIELDS}


@dataclass(frozen=True)
class Rounding:
    unit_seconds: int
    mode: Mode

    def apply(self, seconds: int) -> int:
        whole, rest = divmod(seconds, self.unit_seconds)
        if rest == 0 or self.mode == "down":
            return whole * self.unit_seconds
        if self.mode == "up" or 2 * rest >= self.unit_seconds:  # nearest: a half rounds up
            return (whole + 1) * self.unit_seconds
        return whole * self.unit_seconds


@dataclass(frozen=True)
class LateCancel:
    within_hours: int
    percent: int


@dataclass(frozen=True)
class Policy:
    """Every field resolved: what prices one line."""

    rounding: Rounding = Rounding(1, "down")
    full_lesson_percent: int | None = None
    minimum_seconds: int = 0
    no_show_percent: int = 0
    late_cancel: LateCancel | None = None
    no_students_minimum_seconds: int = 0


BUILT_IN = Policy()


@dataclass(frozen=True)
class Entry:
    """One effective-dated policy entry: only the fields it sets (a null is set: "off")."""

    effective_from: datetime
    fields: Mapping[str, Any]  # JSON form, as stored and served


def in_force(entries: Sequence[Entry], at: datetime) -> Entry | None:
    """The latest entry whose effective_from is not after `at` (entries in any order)."""
    candidates = [e for e in entries if e.effective_from <= at]
    return max(candidates, key=lambda e: e.effective_from, default=None)


def resolve(own: Sequence[Entry], default: Sequence[Entry], at: datetime) -> Policy:
    """Field by field: the party's entry in force at `at`, else the default scope's, else built-in."""
    layers = [e.fields for e in (in_force(own, at), in_force(default, at)) if e is not None]
    values: dict[str, Any] = {}
    for name in (*FAMILY_FIELDS, "no_students_minimum_seconds"):
        for fields in layers:
            if name in fields:
                values[name] = _field(name, fields[name])
                break
    return Policy(**values)


class PolicyBook:
    """Every entry of every scope, resolving the policy of many lines (one resolution per
    combination of entries in force, not per line)."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]):
        self._entries: dict[tuple[str, int], list[Entry]] = defaultdict(list)
        for row in rows:
            self._entries[(row["party"], row["party_id"])].append(Entry(row["effective_from"], row["fields"]))
        self._resolved: dict[tuple, Policy] = {}

    def policy(self, party: Party, party_id: int, at: datetime) -> Policy:
        own = in_force(self._entries.get((party, party_id), ()), at)
        default = in_force(self._entries.get((party, DEFAULT_SCOPE), ()), at)
        key = (party, party_id if own else None, own and own.effective_from, default and default.effective_from)
        if key not in self._resolved:
            self._resolved[key] = resolve([own] if own else [], [default] if default else [], at)
        return self._resolved[key]


def _field(name: str, value: Any) -> Any:
    if name == "rounding":
        return Rounding(value["unit_seconds"], value["mode"])
    if name == "late_cancel":
        return None if value is None else LateCancel(value["within_hours"], value["percent"])
    return value


# -- entries as the API takes them --------------------------------------------------------

MAX_SECONDS = 24 * 3600  # a minimum longer than a day is a typo
MAX_WITHIN_HOURS = 24 * 366


class InvalidPolicy(ValueError):
    """The body of a policy PUT does not describe a policy: `field: why`."""


def parse_fields(party: Party, body: Mapping[str, Any]) -> dict[str, Any]:
    """The policy fields of a PUT body (everything but effective_from), checked; JSON form."""
    fields = {}
    for name, value in body.items():
        if name == "effective_from":
            continue
        if name not in FIELDS[party]:
            raise InvalidPolicy(f"{name}: not a {party} policy field (fields: {', '.join(FIELDS[party])})")
        fields[name] = _CHECKS[name](name, value)
    return fields


def _int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or value != int(value):
        raise InvalidPolicy(f"{name}: a whole number is required")
    if not low <= value <= high:
        raise InvalidPolicy(f"{name}: must be between {low} and {high}")
    return int(value)


def _object(name: str, value: Any, keys: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, dict) or set(value) != set(keys):
        raise InvalidPolicy(f"{name}: an object with exactly {', '.join(keys)}")
    return value


def _rounding(name: str, value: Any) -> dict:
    value = _object(name, value, ("unit_seconds", "mode"))
    if value["mode"] not in ("up", "down", "nearest"):
        raise InvalidPolicy(f"{name}.mode: one of up, down, nearest")
    return {"unit_seconds": _int(f"{name}.unit_seconds", value["unit_seconds"], 1, 3600), "mode": value["mode"]}


def _late_cancel(name: str, value: Any) -> dict | None:
    if value is None:
        return None
    value = _object(name, value, ("within_hours", "percent"))
    return {"within_hours": _int(f"{name}.within_hours", value["within_hours"], 1, MAX_WITHIN_HOURS),
            "percent": _int(f"{name}.percent", value["percent"], 0, 100)}


def _full_lesson(name: str, value: Any) -> int | None:
    return None if value is None else _int(name, value, 1, 100)


_CHECKS = {
    "rounding": _rounding,
    "full_lesson_percent": _full_lesson,
    "minimum_seconds": lambda name, value: _int(name, value, 0, MAX_SECONDS),
    "no_show_percent": lambda name, value: _int(name, value, 0, 100),
    "late_cancel": _late_cancel,
    "no_students_minimum_seconds": lambda name, value: _int(name, value, 0, MAX_SECONDS),
}


# -- pricing ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Facts:
    """What pricing one line needs to know about it and its class."""

    party: Party
    measured_seconds: int  # the line's billable_seconds
    scheduled_seconds: int | None  # the class's length; None while the class is not known
    teacher_attended: bool = False  # the class's teacher line has billable seconds
    students_came: bool = False  # some student line of the class has billable seconds
    cancelled: bool = False
    cancel_lead_seconds: int | None = None  # scheduled start − cancellation time; None: unknown
    rostered: bool = True  # on the class's roster (students) or its teacher
    no_meeting_found: bool = False  # attendance's final reason: the lesson did not take place
    corrected: bool = False
    removed: bool = False


@dataclass(frozen=True)
class Priced:
    billed_seconds: int
    rule: str
    rule_detail: str


def facts_of(line: Mapping[str, Any]) -> Facts:
    """Facts from a line as billing's repository reads it (repository.class_pricing_facts)."""
    return Facts(
        party=line["party"], measured_seconds=line["billable_seconds"], scheduled_seconds=line["scheduled_seconds"],
        teacher_attended=line["teacher_attended"], students_came=line["students_came"], cancelled=line["cancelled"],
        cancel_lead_seconds=line["cancel_lead_seconds"], rostered=line["rostered"],
        no_meeting_found=line["final_reason"] == "no_meeting_found", corrected=line["corrected"],
        removed=line["removed"])


def clock(seconds: int) -> str:
    """52:10 (minutes:seconds; minutes go past 60 rather than adding hours)."""
    return f"{seconds // 60}:{seconds % 60:02d}"


def price(facts: Facts, policy: Policy) -> Priced:
    if facts.cancelled:
        return _cancelled(facts, policy)
    if facts.removed:
        return Priced(0, "measured", "no longer in the class → billed 0:00")
    if facts.corrected:
        return Priced(facts.measured_seconds, "corrected",
                      f"corrected by an admin → billed {clock(facts.measured_seconds)} as given")
    if _no_show(facts, policy):
        share = facts.scheduled_seconds * policy.no_show_percent // 100
        return _share("no_show", f"absent, the teacher attended: {policy.no_show_percent}% of "
                      f"{clock(facts.scheduled_seconds)}", share, facts, policy)
    return _attended(facts, policy)


def _cancelled(facts: Facts, policy: Policy) -> Priced:
    late = policy.late_cancel
    if (late is None or facts.cancel_lead_seconds is None or facts.scheduled_seconds is None
            or not facts.rostered or facts.cancel_lead_seconds >= late.within_hours * 3600):
        return Priced(0, "measured", "class cancelled → billed 0:00")
    share = facts.scheduled_seconds * late.percent // 100
    return _share("late_cancel", f"cancelled {_lead(facts.cancel_lead_seconds)} "
                  f"(less than {late.within_hours} h): {late.percent}% of {clock(facts.scheduled_seconds)}",
                  share, facts, policy)


def _no_show(facts: Facts, policy: Policy) -> bool:
    return (facts.party == "family" and facts.measured_seconds == 0 and policy.no_show_percent > 0
            and facts.teacher_attended and not facts.no_meeting_found and facts.scheduled_seconds is not None)


def _share(rule: str, why: str, seconds: int, facts: Facts, policy: Policy) -> Priced:
    steps = [why]
    billed = _round_and_cap(seconds, facts, policy, steps)
    return Priced(billed, rule, f"{', '.join(steps)} → billed {clock(billed)}")


def _attended(facts: Facts, policy: Policy) -> Priced:
    measured, scheduled = facts.measured_seconds, facts.scheduled_seconds
    billed, rule, steps = measured, "measured", [f"attended {clock(measured)}"]
    full = policy.full_lesson_percent
    if full is not None and scheduled is not None and 0 < measured < scheduled and measured * 100 >= full * scheduled:
        billed, rule = scheduled, "full_lesson"
        steps = [f"attended {clock(measured)} of {clock(scheduled)} ≥ {full}%"]
    below_lesson = scheduled is None or billed < scheduled  # a whole lesson needs no minimum
    if 0 < billed < policy.minimum_seconds and below_lesson:
        billed, rule = policy.minimum_seconds, "minimum"
        steps.append(f"minimum {clock(policy.minimum_seconds)}")
    if facts.party == "teacher" and measured > 0 and not facts.students_came and below_lesson \
            and billed < policy.no_students_minimum_seconds:
        billed, rule = policy.no_students_minimum_seconds, "no_students_minimum"
        steps.append(f"no student came, minimum {clock(policy.no_students_minimum_seconds)}")
    billed = _round_and_cap(billed, facts, policy, steps)
    return Priced(billed, rule, f"{', '.join(steps)} → billed {clock(billed)}")


def _round_and_cap(seconds: int, facts: Facts, policy: Policy, steps: list[str]) -> int:
    rounding = policy.rounding
    rounded = rounding.apply(seconds)
    if rounded != seconds:
        how = {"up": "rounded up", "down": "rounded down", "nearest": "rounded"}[rounding.mode]
        steps.append(f"{how} to {clock(rounding.unit_seconds)}")
    if facts.scheduled_seconds is None:
        return rounded
    cap = max(facts.scheduled_seconds, facts.measured_seconds)  # a class shortened later keeps what was measured
    if rounded > cap:
        steps.append(f"at most the lesson's {clock(cap)}")
        return cap
    return rounded


def _lead(seconds: int) -> str:
    """How long before the start: "3 h 05 min before the start" (after it, should a cancellation come late)."""
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{hours} h {minutes:02d} min {'before' if seconds >= 0 else 'after'} the start"
