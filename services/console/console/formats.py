"""How the pages write money, durations and instants (Jinja filters; no I/O)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import jinja2


def money(cents: int | None, currency: str | None = "") -> str:
    """Integer cents as `1,234.50 EUR`; an unknown amount as a dash."""
    if cents is None:
        return "—"
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}{whole:,}.{part:02d}" + (f" {currency}" if currency else "")


def duration(seconds: float | None) -> str:
    """`1 h 05 min`, `12 min 30 s`, `45 s`."""
    if seconds is None:
        return "—"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def instant(value: str | datetime | None, zone: ZoneInfo, pattern: str = "%H:%M:%S") -> str:
    if not value:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(zone).strftime(pattern)


def install(environment: jinja2.Environment, zone: ZoneInfo) -> None:
    environment.filters.update({
        "money": money, "duration": duration,
        "time": lambda value, pattern="%H:%M:%S": instant(value, zone, pattern),
        "date": lambda value: instant(value, zone, "%Y-%m-%d %H:%M"),
    })
    environment.globals["zone"] = str(zone)
