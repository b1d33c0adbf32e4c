"""Who corrected a log: a named token's `role:name`, not only its role."""
from __future__ import annotations

from tests.integration.attendance.harness import bo, by_person, class_data, record, snapshot_data
from tests.support.services import ADMIN, ALICE


async def test_a_correction_records_the_name_of_a_named_token(world, http, get_logs):
    await world.publish("class.scheduled", class_data())
    await world.publish("meet.participants.fetched", snapshot_data(7, record("c1", -5, None, bo("c1", (0, 25))),
                                                                   fetched=30))
    await world.settle()
    log_id = by_person(await get_logs(class_id=7))["student:3"]["log_id"]
    url = f"/monitoring/attendance-logs/{log_id}/corrections"
    for headers, reason in ((ALICE, "camera trouble"), (ADMIN, "checked again")):
        response = await http.post(url, headers=headers, json={"billable_seconds": 1500, "reason": reason})
        assert response.status == 201, await response.text()
    corrections = (await response.json())["corrections"]
    assert [c["requested_by"] for c in corrections] == ["admin:alice", "admin"]
