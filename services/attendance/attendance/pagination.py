"""Opaque keyset cursors over (scheduled_start, log_id)."""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime


class BadCursor(ValueError):
    pass


def encode(scheduled_start: datetime, log_id: int) -> str:
    raw = json.dumps([scheduled_start.isoformat(), log_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, log_id = json.loads(raw)
        parsed = datetime.fromisoformat(moment)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise BadCursor("cursor is not one this API returned") from exc
    if parsed.tzinfo is None or type(log_id) is not int or not 0 <= log_id < 2**63:
        raise BadCursor("cursor is not one this API returned")
    return parsed, log_id
