"""Every kind of scenario the emulator plays becomes the right, complete snapshot."""
from __future__ import annotations

from datetime import timedelta

from academy_common.events import rfc3339
from tests.integration.meet_fetcher.fetcher_support import T0, fetch_request, people, records


def at(minutes: float) -> str:
    return rfc3339(T0 + timedelta(minutes=minutes))


CLASS = {
    "people": [{"user_id": "1001", "email": "ada@school.org", "display_name": "Ada"},
               {"user_id": "1002", "email": "Bo@School.org", "display_name": "Bo"},
               {"user_id": "1003", "display_name": "Cy"}],  # no email in the directory
    "spaces": [{"id": "cls7", "meeting_code": "abc-defg-hij"}],
    "conferences": [{"space": "spaces/cls7", "id": "c1", "start": at(-2), "end": None, "participants": [
        {"kind": "signedin", "user_id": "1001", "display_name": "Ada", "sessions": [{"join": at(-2), "leave": None}]},
        {"kind": "signedin", "user_id": "1002", "display_name": "Bo", "sessions": [  # rejoins
            {"join": at(1), "leave": at(10)}, {"join": at(12), "leave": at(30)}, {"join": at(31), "leave": None}]},
        {"kind": "signedin", "user_id": "1003", "display_name": "Cy", "sessions": [  # two devices at once
            {"join": at(0), "leave": at(40)}, {"join": at(5), "leave": at(20)}]},
        {"kind": "anonymous", "display_name": "Guest", "sessions": [{"join": at(3), "leave": at(9)}]},
        {"kind": "phone", "display_name": "+1 555-***-0101", "sessions": [{"join": at(2), "leave": None}]},
    ]}],
}


async def test_every_participant_kind_with_identity_sessions_and_open_state(emu, publish, observer):
    emu.load(CLASS)
    emu.advance(45 * 60)
    await publish(fetch_request("spaces/cls7"))
    event = await observer.next()

    data = event.data
    assert data["class_id"] == 7 and data["reason"] == "active" and data["space_name"] == "spaces/cls7"
    assert data["all_ended"] is False
    [record] = records(event)
    assert record["name"] == "conferenceRecords/c1" and record["start_time"] == at(-2) and record["end_time"] is None
    who = people(event)
    assert set(who) == {"Ada", "Bo", "Cy", "Guest", "+1 555-***-0101"}
    assert (who["Ada"]["kind"], who["Ada"]["user"], who["Ada"]["email"]) == ("signedin", "users/1001", "ada@school.org")
    assert who["Bo"]["email"] == "Bo@School.org"
    assert who["Cy"]["email"] is None and who["Cy"]["user"] == "users/1003"
    assert (who["Guest"]["kind"], who["Guest"]["user"], who["Guest"]["email"]) == ("anonymous", None, None)
    assert who["+1 555-***-0101"]["kind"] == "phone"

    assert [(s["start_time"], s["end_time"]) for s in who["Bo"]["sessions"]] == [
        (at(1), at(10)), (at(12), at(30)), (at(31), None)]
    assert who["Bo"]["latest_end_time"] is None and who["Bo"]["earliest_start_time"] == at(1)
    assert [(s["start_time"], s["end_time"]) for s in who["Cy"]["sessions"]] == [(at(0), at(40)), (at(5), at(20))]
    assert who["Cy"]["latest_end_time"] == at(40)
    assert who["Guest"]["sessions"][0]["end_time"] == at(9)
    assert all(s["name"].startswith(p["name"] + "/participantSessions/") for p in who.values() for s in p["sessions"])
    # ordered by first join, so equal data always gives an equal snapshot
    assert [p["display_name"] for p in record["participants"]] == ["Ada", "Cy", "Bo", "+1 555-***-0101", "Guest"]


async def test_records_overlapping_the_window_count_and_records_outside_it_do_not(emu, publish, observer):
    def call(cid: str, start: float, end: float, who: str) -> dict:
        return {"space": "spaces/cls8", "id": cid, "start": at(start), "end": at(end),
                "participants": [{"kind": "anonymous", "display_name": who,
                                  "sessions": [{"join": at(start), "leave": at(end)}]}]}

    emu.load({"conferences": [
        call("early", -45, -40, "too early"),     # ended before the window (start − 30 min)
        call("opened-early", -40, 20, "opened early"),  # opened 40 min early, ran into the class
        call("second", 25, 60, "second call"),    # the call dropped and was restarted
        call("edge", 90, 100, "edge"),            # starts exactly at the window end (end + 30 min)
        call("late", 95, 100, "too late"),        # starts after the window
    ]})
    emu.advance(120 * 60)
    await publish(fetch_request("spaces/cls8", reason="final"))
    event = await observer.next()

    assert [r["name"] for r in records(event)] == [
        "conferenceRecords/opened-early", "conferenceRecords/second", "conferenceRecords/edge"]
    assert set(people(event)) == {"opened early", "second call", "edge"}
    assert event.data["all_ended"] is True


async def test_a_call_opened_early_and_still_running_is_in_every_fetch(emu, publish, observer):
    emu.load({"conferences": [{"space": "spaces/cls9", "id": "kept", "start": at(-40), "end": None, "participants": [
        {"kind": "anonymous", "display_name": "Teacher", "sessions": [{"join": at(-40), "leave": None}]}]}]})
    emu.advance(65 * 60)
    await publish(fetch_request("spaces/cls9", reason="final"))
    event = await observer.next()
    assert [r["name"] for r in records(event)] == ["conferenceRecords/kept"]
    assert event.data["all_ended"] is False


async def test_no_call_found_is_not_every_call_ended_and_the_last_attempt_is_passed_on(emu, publish, observer):
    emu.load({"spaces": [{"id": "empty1", "meeting_code": "emp-tyro-oms"}]})
    emu.advance(65 * 60)
    await publish(fetch_request("spaces/empty1", reason="retry", last_attempt=True))
    event = await observer.next()
    assert event.data["conference_records"] == []
    assert (event.data["all_ended"], event.data["last_attempt"]) == (False, True)


async def test_a_record_that_shows_up_late_is_in_the_next_snapshot(emu, publish, observer):
    emu.load({"conferences": [{"space": "spaces/cls9", "id": "slow", "start": at(0), "visible_after_s": 300,
                               "participants": [{"kind": "anonymous", "display_name": "Early bird"}]}]})
    emu.advance(2 * 60)
    await publish(fetch_request("spaces/cls9"))
    assert records(await observer.next()) == []  # not visible yet: an empty, honest snapshot

    emu.advance(5 * 60)
    await publish(fetch_request("spaces/cls9"))
    later = await observer.next()
    assert [r["name"] for r in records(later)] == ["conferenceRecords/slow"]
    assert set(people(later)) == {"Early bird"}


async def test_every_page_of_every_listing_is_read(emu, publish, observer):
    emu.load({"conferences": [
        {"space": "spaces/cls10", "id": f"c{n}", "start": at(n * 10), "end": at(n * 10 + 8), "participants": [
            {"kind": "anonymous", "display_name": f"p{n}-{i}",
             "sessions": [{"join": at(n * 10 + j), "leave": at(n * 10 + j + 0.5)} for j in range(5)]}
            for i in range(5)]}
        for n in range(3)]})
    emu.set_faults({"page_size_cap": 2})
    emu.advance(60 * 60)
    await publish(fetch_request("spaces/cls10", reason="final"))
    event = await observer.next()

    assert len(records(event)) == 3
    assert len(people(event)) == 15
    assert all(len(p["sessions"]) == 5 for p in people(event).values())
    by_method = emu.stats()["by_method"]
    assert by_method["conferenceRecords.list"] == 2                     # 3 records, 2 per page
    assert by_method["conferenceRecords.participants.list"] == 3 * 3   # 5 participants, 2 per page
    assert by_method["conferenceRecords.participants.participantSessions.list"] == 15 * 3


async def test_nine_digit_timestamps_are_read(emu, publish, observer):
    emu.load({"conferences": [{"space": "spaces/cls11", "id": "ns", "start": "2026-03-02T10:00:00.123456Z",
                               "participants": [{"kind": "phone", "display_name": "Ph"}]}]})
    emu.set_faults({"timestamp_digits": 9})
    emu.advance(60)
    await publish(fetch_request("spaces/cls11"))
    [record] = records(await observer.next())
    assert record["start_time"] == "2026-03-02T10:00:00.123456Z"
