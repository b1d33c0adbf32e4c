"""The consumed payloads: what validates, what is poison."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from academy_common.bus import PermanentError
from academy_common.contracts import MAX_SECONDS, AttendanceLog, ClassSnapshot
from billing.messages import in_billable_years

LOG = {"log_id": 12, "class_id": 7, "session_id": "5f0c4a2e-0000-4000-8000-000000000000", "version": 3, "person_key": "student:3", "role": "student",
       "teacher_id": None, "student_id": 3, "family_id": 2, "scheduled_start": "2025-03-10T15:00:00Z",
       "scheduled_end": "2025-03-10T16:00:00Z", "billable_seconds": 3300, "final": False, "corrected": False,
       "status": "present", "some_future_field": {"x": 1}}


def test_a_documented_log_validates_and_ignores_unknown_fields():
    entry = AttendanceLog.model_validate(LOG)
    assert (entry.billable_seconds, entry.family_id, entry.final) == (3300, 2, False)


@pytest.mark.parametrize("change", [
    {"billable_seconds": -1}, {"billable_seconds": MAX_SECONDS + 1}, {"billable_seconds": "lots"},
    {"role": "parent"}, {"scheduled_start": "2025-03-10T15:00:00"}, {"class_id": 0}, {"version": -1},
    {"person_key": ""}, {"student_id": -3},
])
def test_malformed_logs_are_rejected(change):
    with pytest.raises(ValidationError):
        AttendanceLog.model_validate(LOG | change)


@pytest.mark.parametrize("start", ["1960-03-10T15:00:00Z", "9998-12-31T23:00:00Z"])
def test_logs_outside_the_years_billing_handles_are_poison(start):
    with pytest.raises(PermanentError, match="outside the years billing handles"):
        in_billable_years(AttendanceLog.model_validate(LOG | {"scheduled_start": start}).scheduled_start)


def test_a_class_snapshot_knows_when_it_is_cancelled():
    snapshot = {"class_id": 7, "version": 2, "status": "cancelled", "title": "A",
                "scheduled_start": "2025-03-10T15:00:00Z", "scheduled_end": "2025-03-10T16:00:00Z",
                "teacher": {"teacher_id": 1}, "students": [{"student_id": 3, "family_id": 2}]}
    assert ClassSnapshot.model_validate(snapshot).cancelled
    assert not ClassSnapshot.model_validate(snapshot | {"status": "scheduled"}).cancelled
    with pytest.raises(ValidationError):
        ClassSnapshot.model_validate(snapshot | {"students": [{"student_id": 3}]})
