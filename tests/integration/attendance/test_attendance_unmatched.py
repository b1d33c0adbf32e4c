"""Unmatched participants: listed per class and across classes; an admin maps them to roster people."""
from __future__ import annotations

from tests.integration.attendance.harness import (
    BO,
    CY,
    DI,
    by_person,
    class_data,
    participant,
    record,
    snapshot_data,
)
from tests.support.services import ADMIN, BILLING, VIEWER


def cy_at_home(rec: str, start: float = 0) -> dict:
    """Cy signed in with a personal account the roster does not know, for half the class."""
    return participant(rec, "p5", [(start, start + 30)], user="users/55", email="cy.home@gmail.com", name="Cy")


async def _unmatched(http, **params) -> list[dict]:
    response = await http.get("/monitoring/unmatched", params=params, headers=VIEWER)
    assert response.status == 200, await response.text()
    return (await response.json())["items"]


async def _two_classes_with_the_same_stranger(world):
    for class_id, start in ((7, 0), (8, 120)):
        await world.publish("class.scheduled", class_data(class_id, start=start))
        await world.publish("meet.participants.fetched", snapshot_data(
            class_id, record(f"c{class_id}", start - 5, None, cy_at_home(f"c{class_id}", start)),
            fetched=start + 40, start=start))
    await world.settle()


async def test_guests_are_listed_per_class_and_across_classes(world, http):
    await _two_classes_with_the_same_stranger(world)
    anonymous = participant("c7", "p9", [(1, 2)], kind="anonymous", name="Visitor")
    await world.publish("meet.participants.fetched",
                        snapshot_data(7, record("c7", -5, None, cy_at_home("c7"), anonymous), fetched=40))
    await world.settle()
    across = await _unmatched(http)
    assert sorted((g["class_id"], g["person_key"]) for g in across) == [
        (7, "guest:anonymous:conferenceRecords/c7/participants/p9"), (7, "guest:users/55"), (8, "guest:users/55")]
    in_seven = by_person(await _unmatched(http, class_id=7))
    assert set(in_seven) == {"guest:users/55", "guest:anonymous:conferenceRecords/c7/participants/p9"}
    stranger = in_seven["guest:users/55"]
    assert (stranger["meet_user"], stranger["email"], stranger["display_name"], stranger["participant_kind"]) == \
           ("users/55", "cy.home@gmail.com", "Cy", "signedin")
    assert in_seven["guest:anonymous:conferenceRecords/c7/participants/p9"]["display_name"] == "Visitor"


async def test_a_mapping_recomputes_every_class_at_once_and_applies_to_later_ones(world, http, get_logs):
    await _two_classes_with_the_same_stranger(world)
    response = await http.post("/monitoring/unmatched/mappings", headers=ADMIN,
                               json={"meet_user": "users/55", "person": {"role": "student", "id": 4}})
    assert response.status == 201, await response.text()
    assert (await response.json())["recomputed_class_ids"] == [7, 8]
    await world.settle()
    assert await _unmatched(http) == []
    for class_id in (7, 8):
        logs = by_person(await get_logs(class_id=class_id))
        assert "guest:users/55" not in logs
        assert (logs["student:4"]["status"], logs["student:4"]["attended_seconds"]) == ("present", 1800)
    changed = [(e["class_id"], e["person_key"], e["version"], e["removed"]) for e in await world.log_events()
               if e["version"] == 2]
    assert sorted(changed) == [(7, "guest:users/55", 2, True), (7, "student:4", 2, False),
                               (8, "guest:users/55", 2, True), (8, "student:4", 2, False)]

    # A later class: Cy's personal account counts as Cy straight away...
    await world.publish("class.scheduled", class_data(9, start=300))
    await world.publish("meet.participants.fetched", snapshot_data(
        9, record("c9", 295, None, participant("c9", "p5", [(300, 330)], user="users/55", name="Cy")),
        fetched=330, start=300))
    # ...but not in a class whose roster does not have Cy.
    await world.publish("class.scheduled", class_data(10, start=400, students=(BO, DI)))
    await world.publish("meet.participants.fetched", snapshot_data(
        10, record("c10", 395, None, participant("c10", "p5", [(400, 430)], user="users/55", name="Cy")),
        fetched=430, start=400))
    await world.settle()
    assert by_person(await get_logs(class_id=9))["student:4"]["attended_seconds"] == 1800
    assert [g["person_key"] for g in await _unmatched(http)] == ["guest:users/55"]


async def test_an_email_mapping_works_too_and_an_unknown_person_is_refused(world, http, get_logs, attendance):
    await _two_classes_with_the_same_stranger(world)
    unknown = await http.post("/monitoring/unmatched/mappings", headers=ADMIN,
                              json={"email": "cy.home@gmail.com", "person": {"role": "student", "id": 99}})
    assert unknown.status == 422 and unknown.content_type == "application/problem+json"
    assert await attendance.pool.fetchval("SELECT count(*) FROM identity_mappings") == 0
    mapped = await http.post("/monitoring/unmatched/mappings", headers=ADMIN,
                             json={"email": "CY.Home@gmail.com", "person": {"role": "student", "id": 4}})
    assert mapped.status == 201
    await world.settle()
    assert by_person(await get_logs(class_id=7))["student:4"]["joins"] == 1


BAD_MAPPINGS = [
    ({}, {"meet_user": "users/55", "person": {"role": "student", "id": 4}}, 401),
    (VIEWER, {"meet_user": "users/55", "person": {"role": "student", "id": 4}}, 403),
    (BILLING, {"meet_user": "users/55", "person": {"role": "student", "id": 4}}, 403),
    (ADMIN, {"person": {"role": "student", "id": 4}}, 422),
    (ADMIN, {"meet_user": "55", "person": {"role": "student", "id": 4}}, 422),
    (ADMIN, {"email": "not-an-email", "person": {"role": "student", "id": 4}}, 422),
    (ADMIN, {"meet_user": "users/55", "person": {"role": "guest", "id": 4}}, 422),
    (ADMIN, {"meet_user": "users/55", "person": {"role": "student", "id": "4"}}, 422),
    (ADMIN, {"meet_user": "users/55", "display_name": "Cy", "person": {"role": "student", "id": 4}}, 422),
    (ADMIN, {"meet_user": "users/55", "person": {"role": "teacher", "id": 4}}, 422),
    (ADMIN, {"log_id": 1, "meet_user": "users/55", "person": {"role": "student", "id": 4}}, 422),
    (ADMIN, {"log_id": "1", "person": {"role": "student", "id": 4}}, 422),
    (ADMIN, {"log_id": 0, "person": {"role": "student", "id": 4}}, 422),
    (ADMIN, {"log_id": 999999, "person": {"role": "student", "id": 4}}, 404),
]


async def test_bad_mappings_are_problems(world, http, attendance):
    await world.publish("class.scheduled", class_data(students=(CY,)))
    await world.settle()
    for headers, body, status in BAD_MAPPINGS:
        response = await http.post("/monitoring/unmatched/mappings", headers=headers, json=body)
        assert (response.status, response.content_type) == (status, "application/problem+json"), body
    assert await attendance.pool.fetchval("SELECT count(*) FROM identity_mappings") == 0


async def test_unmatched_needs_a_token_and_checks_its_parameters(http):
    assert (await http.get("/monitoring/unmatched")).status == 401
    assert (await http.get("/monitoring/unmatched", headers=BILLING)).status == 200
    assert (await http.get("/monitoring/unmatched", params={"class_id": "x"}, headers=VIEWER)).status == 422


async def test_an_anonymous_or_phone_guest_is_mapped_to_a_roster_member_for_one_class(world, http, get_logs):
    phone = participant("c7", "p8", [(0, 40)], kind="phone", name="+1 555-0100")
    for class_id, start in ((7, 0), (8, 120)):
        await world.publish("class.scheduled", class_data(class_id, start=start))
    await world.publish("meet.participants.fetched", snapshot_data(7, record("c7", -5, None, phone), fetched=45))
    # Class 8's call has a participant of the same name: another call, another person.
    other = participant("c7", "p8", [(120, 150)], kind="phone", name="+1 555-0100")
    await world.publish("meet.participants.fetched",
                        snapshot_data(8, record("c7", 115, None, other), fetched=160, start=120))
    await world.settle()
    guest_key = "guest:phone:conferenceRecords/c7/participants/p8"
    guest = by_person(await get_logs(class_id=7))[guest_key]

    refused = await http.post("/monitoring/unmatched/mappings", headers=ADMIN,
                              json={"log_id": guest["log_id"], "person": {"role": "student", "id": 5}})
    assert refused.status == 422  # Di is on no roster of class 7
    mapped = await http.post("/monitoring/unmatched/mappings", headers=ADMIN,
                             json={"log_id": guest["log_id"], "person": {"role": "student", "id": 4}})
    assert mapped.status == 201, await mapped.text()
    assert (await mapped.json())["recomputed_class_ids"] == [7]
    await world.settle()
    class7 = by_person(await get_logs(class_id=7))
    assert guest_key not in class7 and class7["student:4"]["billable_seconds"] == 40 * 60
    class8 = by_person(await get_logs(class_id=8))
    assert guest_key in class8 and class8["student:4"]["status"] == "absent"

    again = await http.post("/monitoring/unmatched/mappings", headers=ADMIN,
                            json={"log_id": guest["log_id"], "person": {"role": "student", "id": 4}})
    assert again.status == 422  # the log was removed: no guest left to map
    teacher_log = class7["teacher:1"]["log_id"]
    not_guest = await http.post("/monitoring/unmatched/mappings", headers=ADMIN,
                                json={"log_id": teacher_log, "person": {"role": "student", "id": 4}})
    assert not_guest.status == 422
