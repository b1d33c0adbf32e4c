from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from academy_common.events import CloudEvent, deterministic_id, new_event, rfc3339


def test_round_trip_keeps_every_attribute():
    event = new_event("class.started", {"class_id": 7}, source="/academy/scheduler", subject="class/7")
    again = CloudEvent.from_json(event.to_json())
    assert again == event
    assert again.specversion == "1.0" and again.datacontenttype == "application/json"


def test_deterministic_ids_repeat_and_differ():
    assert deterministic_id("fetch", 7, "active", 3) == deterministic_id("fetch", 7, "active", 3)
    assert deterministic_id("fetch", 7, "active", 3) != deterministic_id("fetch", 7, "active", 4)


@pytest.mark.parametrize("body", [
    b"not json",
    b'{"specversion": "0.3", "id": "1", "source": "s", "type": "t", "time": "2026-01-01T00:00:00Z", "data": {}}',
    b'{"specversion": "1.0", "id": "1", "source": "s", "type": "t", "time": "2026-01-01T00:00:00", "data": {}}',
    b'{"specversion": "1.0", "id": "", "source": "s", "type": "t", "time": "2026-01-01T00:00:00Z", "data": {}}',
    b'{"specversion": "1.0", "id": "1", "source": "s", "type": "t", "time": "2026-01-01T00:00:00Z", "data": []}',
])
def test_malformed_envelopes_are_rejected(body):
    with pytest.raises(ValidationError):
        CloudEvent.from_json(body)


def test_rfc3339_is_utc_with_z():
    moment = datetime(2026, 11, 25, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert rfc3339(moment) == "2026-11-25T10:00:00Z"
    assert rfc3339(None) is None
    with pytest.raises(ValueError):
        rfc3339(datetime(2026, 1, 1))
