"""Billing policies as the console shows and edits them (no I/O): the form ↔ policy document
mapping, the entry in force, what applies after fallback, and the rules' short names.

The form has one input per field. A blank input means "not set here": billing falls back to
the default scope, then to the built-in value. The "off" boxes send `null` for the nullable
fields (`full_lesson_percent`, `late_cancel`), which is set and does not fall back.
Durations are typed in minutes, or as mm:ss for seconds (`0:30`)."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

FIELDS = {
    "families": ("rounding", "full_lesson_percent", "minimum_seconds", "no_show_percent", "late_cancel"),
    "teachers": ("rounding", "full_lesson_percent", "minimum_seconds", "late_cancel", "no_students_minimum_seconds"),
}
SCOPES = {"families": ("this family", "every family"), "teachers": ("this teacher", "every teacher")}
BUILT_IN: dict[str, Any] = {"rounding": {"unit_seconds": 1, "mode": "down"}, "full_lesson_percent": None,
                            "minimum_seconds": 0, "no_show_percent": 0, "late_cancel": None,
                            "no_students_minimum_seconds": 0}
LABELS = {"rounding": "Rounding", "full_lesson_percent": "Full lesson", "minimum_seconds": "Minimum",
          "no_show_percent": "No-show", "late_cancel": "Late cancellation",
          "no_students_minimum_seconds": "No students came"}
RULES = {"measured": "measured", "full_lesson": "full lesson", "minimum": "minimum", "no_show": "no-show",
         "late_cancel": "late cancellation", "no_students_minimum": "no-student minimum",
         "corrected": "corrected"}
MODES = ("up", "down", "nearest")
NO_ROUNDING = "none"  # the mode choice that sends the built-in rounding (to the second)
# billing's 422 detail starts with the field (`rounding.unit_seconds: …`); the input it is about
_PROBLEM_INPUTS = {"effective_from": "effective_from", "rounding": "rounding_unit",
                   "rounding.unit_seconds": "rounding_unit", "rounding.mode": "rounding_mode",
                   "full_lesson_percent": "full_lesson_percent", "minimum_seconds": "minimum",
                   "no_show_percent": "no_show_percent", "late_cancel": "late_cancel_hours",
                   "late_cancel.within_hours": "late_cancel_hours", "late_cancel.percent": "late_cancel_percent",
                   "no_students_minimum_seconds": "no_students_minimum"}
_WHOLE = re.compile(r"^\d{1,6}$", re.ASCII)
_MINUTES = re.compile(r"^(\d{1,5})(?::([0-5]\d))?$", re.ASCII)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


class PolicyFormError(ValueError):
    """The form does not make a policy entry: {input name: why}."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def rule_label(rule: str | None) -> str:
    return RULES.get(rule or "", rule or "")


def seconds_of(text: str) -> int:
    """`30` minutes → 1800, `12:30` → 750, `0:01` → 1."""
    match = _MINUTES.match(text)
    if not match:
        raise ValueError("minutes, like 30, or mm:ss, like 0:30")
    return int(match[1]) * 60 + int(match[2] or 0)


def minutes_text(seconds: int) -> str:
    """The other way: 1800 → `30`, 750 → `12:30`."""
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}" if rest else str(minutes)


def policy_from_form(party: str, form: Mapping[str, str]) -> dict:
    """The PUT body of the party's form (only its fields); PolicyFormError names each bad input."""
    text = {name: str(value).strip() for name, value in form.items()}
    body: dict[str, Any] = {}
    errors: dict[str, str] = {}
    day = text.get("effective_from", "")
    if not _DATE.match(day) or not _is_date(day):
        errors["effective_from"] = "the date it applies from, like 2026-03-01"
    body["effective_from"] = day
    for name in FIELDS[party]:
        try:
            body.update(_READERS[name](text))
        except PolicyFormError as exc:
            errors.update(exc.errors)
    if errors:
        raise PolicyFormError(errors)
    return body


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _whole(text: Mapping[str, str], name: str) -> int | None:
    """None when blank; a PolicyFormError naming the input when not a whole number."""
    value = text.get(name, "")
    if not value:
        return None
    if not _WHOLE.match(value):
        raise PolicyFormError({name: "a whole number, like 50"})
    return int(value)


def _duration(text: Mapping[str, str], name: str) -> int | None:
    value = text.get(name, "")
    if not value:
        return None
    try:
        return seconds_of(value)
    except ValueError as exc:
        raise PolicyFormError({name: str(exc)}) from None


def _rounding(text: Mapping[str, str]) -> dict:
    mode = text.get("rounding_mode", "")
    if mode == NO_ROUNDING:
        return {"rounding": dict(BUILT_IN["rounding"])}
    unit = _duration(text, "rounding_unit")
    if not mode and unit is None:
        return {}
    if mode not in MODES:
        raise PolicyFormError({"rounding_mode": "choose up, down or to the nearest"})
    if unit is None:
        raise PolicyFormError({"rounding_unit": "the unit to round to, like 15 (minutes)"})
    return {"rounding": {"unit_seconds": unit, "mode": mode}}


def _full_lesson(text: Mapping[str, str]) -> dict:
    if text.get("full_lesson_off"):
        return {"full_lesson_percent": None}
    value = _whole(text, "full_lesson_percent")
    return {} if value is None else {"full_lesson_percent": value}


def _late_cancel(text: Mapping[str, str]) -> dict:
    if text.get("late_cancel_off"):
        return {"late_cancel": None}
    errors, values = {}, {}
    for name in ("late_cancel_hours", "late_cancel_percent"):
        try:
            values[name] = _whole(text, name)
        except PolicyFormError as exc:
            errors.update(exc.errors)
    if errors:
        raise PolicyFormError(errors)
    hours, percent = values["late_cancel_hours"], values["late_cancel_percent"]
    if hours is None and percent is None:
        return {}
    if hours is None or percent is None:
        missing = "late_cancel_hours" if hours is None else "late_cancel_percent"
        raise PolicyFormError({missing: "give both the hours and the percent (or neither)"})
    return {"late_cancel": {"within_hours": hours, "percent": percent}}


def _number(field: str, name: str, read=_whole):
    def reader(text: Mapping[str, str]) -> dict:
        value = read(text, name)
        return {} if value is None else {field: value}
    return reader


_READERS = {
    "rounding": _rounding,
    "full_lesson_percent": _full_lesson,
    "minimum_seconds": _number("minimum_seconds", "minimum", _duration),
    "no_show_percent": _number("no_show_percent", "no_show_percent"),
    "late_cancel": _late_cancel,
    "no_students_minimum_seconds": _number("no_students_minimum_seconds", "no_students_minimum", _duration),
}


def form_of(entry: Mapping[str, Any] | None, day: str = "") -> dict[str, str]:
    """The form's inputs filled from a policy entry (what a blank form would send back unchanged)."""
    entry = entry or {}
    form = {"effective_from": day}
    if "rounding" in entry:
        rounding = entry["rounding"]
        form["rounding_mode"] = rounding["mode"]
        form["rounding_unit"] = minutes_text(rounding["unit_seconds"])
    if "full_lesson_percent" in entry:
        value = entry["full_lesson_percent"]
        form["full_lesson_off" if value is None else "full_lesson_percent"] = "on" if value is None else str(value)
    if "late_cancel" in entry:
        value = entry["late_cancel"]
        if value is None:
            form["late_cancel_off"] = "on"
        else:
            form["late_cancel_hours"], form["late_cancel_percent"] = str(value["within_hours"]), str(value["percent"])
    for field, name in (("minimum_seconds", "minimum"), ("no_students_minimum_seconds", "no_students_minimum")):
        if field in entry:
            form[name] = minutes_text(entry[field])
    if "no_show_percent" in entry:
        form["no_show_percent"] = str(entry["no_show_percent"])
    return form


def in_force(entries: Sequence[Mapping[str, Any]], now: datetime) -> Mapping[str, Any] | None:
    """The latest entry whose effective_from is not after `now`."""
    started = [e for e in entries if datetime.fromisoformat(e["effective_from"]) <= now]
    return max(started, key=lambda e: datetime.fromisoformat(e["effective_from"]), default=None)


def effective(party: str, layers: Sequence[tuple[str, Mapping[str, Any] | None]]) -> list[dict]:
    """Field by field what applies: the first layer (name, entry in force) that sets it, else built-in."""
    rows = []
    for field in FIELDS[party]:
        source, value = "built-in", BUILT_IN[field]
        for name, entry in layers:
            if entry is not None and field in entry:
                source, value = name, entry[field]
                break
        rows.append({"field": field, "label": LABELS[field], "text": describe(field, value), "source": source})
    return rows


def summary(party: str, entry: Mapping[str, Any]) -> str:
    """What one entry sets, in a line; the fields it leaves out fall back."""
    parts = [f"{LABELS[f].lower()}: {describe(f, entry[f])}" for f in FIELDS[party] if f in entry]
    return "; ".join(parts) or "sets nothing (everything falls back)"


def describe(field: str, value: Any) -> str:
    if field == "rounding":
        if value["unit_seconds"] == 1 and value["mode"] == "down":
            return "none (billed to the second)"
        how = {"up": "up to", "down": "down to", "nearest": "to the nearest"}[value["mode"]]
        return f"{how} {_span(value['unit_seconds'])}"
    if field == "full_lesson_percent":
        return "off" if value is None else f"{value}% of the lesson or more bills the whole lesson"
    if field == "no_show_percent":
        return "a no-show bills nothing" if not value else f"a no-show bills {value}% of the lesson"
    if field == "late_cancel":
        if value is None:
            return "off"
        return f"cancelled less than {value['within_hours']} h before: {value['percent']}% of the lesson"
    return "none" if not value else f"at least {_span(value)}"


def _span(seconds: int) -> str:
    minutes, rest = divmod(int(seconds), 60)
    if not rest:
        return f"{minutes} min"
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def repriced(saved: Mapping[str, Any]) -> str:
    """Billing's `repriced_lines` of a PUT, as the confirmation says it."""
    count = int(saved.get("repriced_lines") or 0)
    return "1 line was re-priced" if count == 1 else f"{count} lines were re-priced"


def problem_errors(detail: str) -> dict[str, str]:
    """Billing's 422 detail (`late_cancel.percent: must be between 0 and 100`) as {input: message}."""
    name, _, message = detail.partition(":")
    name = name.strip()
    if message and name in _PROBLEM_INPUTS:
        return {_PROBLEM_INPUTS[name]: message.strip()}
    return {}
