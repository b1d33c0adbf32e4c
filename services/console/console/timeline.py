"""Timeline geometry (no I/O): participant sessions → the bars of the Class page's SVG picture.

One row per person; a person's sessions that overlap in time (two devices at once) go to lanes
of their own inside the row, so they show as stacked bars instead of hiding each other. The
picture spans the scheduled window plus whatever was seen outside it, within `max_outside`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

WIDTH = 720          # drawing width of the time axis, in SVG user units
LABEL_WIDTH = 180    # the names column left of the axis
LANE_HEIGHT = 14
ROW_GAP = 10
AXIS_HEIGHT = 24
PALETTE = 6          # colour classes per device/call: bar-0 … bar-5 in the stylesheet


@dataclass(frozen=True)
class Session:
    start: datetime
    end: datetime | None      # None: still in the call (drawn to `now`)
    device: str               # what tells a device/call apart (the Meet participant), for the colour


@dataclass(frozen=True)
class Person:
    label: str
    kind: str                 # teacher, student or guest
    sessions: tuple[Session, ...]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    colour: int
    clipped_start: bool       # began before the picture's left edge
    clipped_end: bool         # went on past its right edge (or is still open)
    title: str


@dataclass(frozen=True)
class Row:
    label: str
    kind: str
    y: float
    height: float
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Picture:
    width: float
    height: float
    window_x: float           # the scheduled window, shaded
    window_width: float
    rows: tuple[Row, ...]
    ticks: tuple[Tick, ...]
    now_x: float | None       # a "now" line while the class is on


KIND_ORDER = {"teacher": 0, "student": 1, "guest": 2}


def span(start: datetime, end: datetime, people: list[Person], now: datetime,
         max_outside: timedelta = timedelta(minutes=30)) -> tuple[datetime, datetime]:
    """The picture's time range: the window, widened to the sessions, never more than `max_outside` either side."""
    seen = [s.start for p in people for s in p.sessions] + [s.end or now for p in people for s in p.sessions]
    left = max(min([start, *seen]), start - max_outside)
    right = min(max([end, *seen]), end + max_outside)
    return left, right


def lanes(sessions: tuple[Session, ...], now: datetime) -> list[int]:
    """The lane of each session: the lowest lane free at its start (greedy interval partitioning)."""
    ends: list[datetime] = []
    result = [0] * len(sessions)
    for index in sorted(range(len(sessions)), key=lambda i: sessions[i].start):
        session = sessions[index]
        lane = next((n for n, busy_until in enumerate(ends) if busy_until <= session.start), len(ends))
        if lane == len(ends):
            ends.append(session.end or now)
        else:
            ends[lane] = session.end or now
        result[index] = lane
    return result


def picture(start: datetime, end: datetime, people: list[Person], now: datetime) -> Picture:
    left, right = span(start, end, people, now)
    seconds = max((right - left).total_seconds(), 1.0)

    def x_of(moment: datetime) -> float:
        offset = (moment - left).total_seconds() / seconds * WIDTH
        return LABEL_WIDTH + min(max(offset, 0.0), WIDTH)

    colours: dict[str, int] = {}
    rows, y = [], float(AXIS_HEIGHT)
    for person in sorted(people, key=lambda p: KIND_ORDER.get(p.kind, 3)):
        lane_of = lanes(person.sessions, now)
        bars = []
        for session, lane in zip(person.sessions, lane_of, strict=True):
            session_end = session.end or now
            if session_end <= left or session.start >= right:
                continue  # wholly outside the picture
            colour = colours.setdefault(session.device, len(colours) % PALETTE)
            x0, x1 = x_of(session.start), x_of(session_end)
            bars.append(Bar(x0, y + lane * LANE_HEIGHT, max(x1 - x0, 1.0), colour,
                            session.start < left, session.end is None or session_end > right,
                            _title(person.label, session)))
        height = max(lane_of, default=0) * LANE_HEIGHT + LANE_HEIGHT
        rows.append(Row(person.label, person.kind, y, height, tuple(bars)))
        y += height + ROW_GAP
    now_x = x_of(now) if left <= now <= right else None
    return Picture(LABEL_WIDTH + WIDTH, y + 4, x_of(start), x_of(end) - x_of(start), tuple(rows),
                   ticks(left, right, x_of), now_x)


def ticks(left: datetime, right: datetime, x_of) -> tuple[Tick, ...]:
    """About six labelled minutes along the axis, on round steps."""
    seconds = (right - left).total_seconds()
    step = next((s for s in (30, 60, 120, 300, 600, 900, 1800, 3600) if seconds / s <= 8), 7200)
    first = left.replace(microsecond=0) + timedelta(seconds=(-left.timestamp()) % step)
    result, moment = [], first
    while moment <= right:
        result.append(Tick(x_of(moment), moment.strftime("%H:%M" if step >= 60 else "%H:%M:%S")))
        moment += timedelta(seconds=step)
    return tuple(result)


def _title(label: str, session: Session) -> str:
    until = session.end.strftime("%H:%M:%S") if session.end else "now"
    return f"{label}: {session.start:%H:%M:%S}–{until}"
