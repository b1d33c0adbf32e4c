"""Keyset pages for the list endpoints: `{"items": [...], "next_cursor": ...}` and opaque cursors.

A cursor is the sort key of a page's last item (base64url JSON), so the next page starts right
after it whatever is added or removed meanwhile, and costs an index range scan however deep.
Clients pass `next_cursor` back as `cursor` until it is null.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypeVar

from pydantic import Field

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str, Field(min_length=1, max_length=500)]
KeyPart = datetime | int
R = TypeVar("R")


class BadCursor(ValueError):
    pass


def encode(*key: KeyPart) -> str:
    raw = json.dumps([part.isoformat() if isinstance(part, datetime) else part for part in key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, *kinds: type[KeyPart]) -> tuple[KeyPart, ...]:
    """The key `encode` wrote, checked part by part against `kinds` (datetime: tz-aware; int: an id)."""
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(parts, list) or len(parts) != len(kinds):
            raise ValueError("wrong length")
        key = tuple(_part(kind, part) for kind, part in zip(kinds, parts, strict=True))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise BadCursor("cursor is not one this API returned") from exc
    return key


def _part(kind: type[KeyPart], value: object) -> KeyPart:
    if kind is datetime:
        moment = datetime.fromisoformat(value)  # TypeError unless a string
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return moment
    if type(value) is not int or not 0 <= value < 2**63:
        raise ValueError("not an id")
    return value


@dataclass(frozen=True)
class Page:
    items: list[dict]
    next_cursor: str | None

    def as_json(self) -> dict:
        return {"items": self.items, "next_cursor": self.next_cursor}


def page(rows: Sequence[R], limit: int, item: Callable[[R], dict], key: Callable[[R], tuple[KeyPart, ...]]) -> Page:
    """A page from `rows` read with `LIMIT limit + 1`: a cursor only when there is more."""
    more = len(rows) > limit
    return Page([item(r) for r in rows[:limit]], encode(*key(rows[limit - 1])) if more else None)
