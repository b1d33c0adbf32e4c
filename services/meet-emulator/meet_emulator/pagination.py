"""Opaque, cursor-style page tokens (stable while new items appear between pages)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from .errors import invalid_argument

T = TypeVar("T")
SortKey = tuple[int, str]


def _context_hash(context: str) -> str:
    return hashlib.sha256(context.encode()).hexdigest()[:16]


def encode_token(key: SortKey, context: str) -> str:
    raw = json.dumps({"k": list(key), "c": _context_hash(context)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, context: str) -> SortKey:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        first, second = data["k"]
        if not isinstance(first, int) or not isinstance(second, str) or data["c"] != _context_hash(context):
            raise ValueError
    except (ValueError, KeyError, TypeError, UnicodeError):
        raise invalid_argument("Invalid page token.") from None
    return first, second


def paginate(
    items: Sequence[T],
    key: Callable[[T], SortKey],
    page_size: int,
    token: str | None,
    context: str,
) -> tuple[list[T], str | None]:
    """Items in ascending ``key`` order, the page after ``token``, and the next token (or None).

    ``context`` (method, parent, filter) is bound into tokens: a token from another query is
    rejected as invalid, like Google does.
    """
    ordered = sorted(items, key=key)
    if token:
        after = decode_token(token, context)
        ordered = [item for item in ordered if key(item) > after]
    page = ordered[:page_size]
    if len(ordered) > page_size:
        return page, encode_token(key(page[-1]), context)
    return page, None
