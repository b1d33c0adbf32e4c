"""Who an unmatched guest might be (no I/O): the class's roster, closest names first."""
from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str | None) -> set[str]:
    return set(_WORD.findall((text or "").lower()))


def ranked(guest: dict, roster: list[dict]) -> list[dict]:
    """Roster people ordered by the words their name shares with the guest's display name or email."""
    seen = words(guest.get("display_name")) | words((guest.get("email") or "").split("@")[0])

    def score(person: dict) -> tuple[int, int, str]:
        shared = len(seen & words(person["name"]))
        return (-shared, 0 if person["role"] == "student" else 1, person["name"])

    return [{**person, "likely": bool(seen & words(person["name"]))} for person in sorted(roster, key=score)]
