"""Rosters follow the directory: the pure rules (which entry wins, what it changes on a member)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from attendance.identity import resolve
from attendance.model import DirectoryEntry, Roster, latest_entries
from tests.unit.attendance.factories import ADA, BO, CY, ROSTER, participant

NEW_BO = DirectoryEntry("student:3", 2, "Bo B.", "bo.new@school.org", 9)


@pytest.mark.parametrize(("directory", "expected"), [
    ({}, ROSTER.members),
    ({"student:3": NEW_BO}, (ADA, replace(BO, email="bo.new@school.org", display_name="Bo B.", family_id=9), CY)),
    # A teacher has no family, whatever an entry says.
    ({"teacher:1": DirectoryEntry("teacher:1", 3, "Ada L.", "ada@academy.org", 4)},
     (replace(ADA, email="ada@academy.org", display_name="Ada L."), BO, CY)),
    # Someone on no roster of this class changes nothing.
    ({"student:8": DirectoryEntry("student:8", 1, "Ed", "ed@school.org", 2)}, ROSTER.members),
])
def test_a_roster_takes_email_name_and_family_from_the_directory(directory, expected):
    assert ROSTER.following(directory).members == expected


def test_a_participant_with_the_edited_email_is_the_member_not_a_guest():
    followed = ROSTER.following({"student:3": NEW_BO})
    bo_now = participant("p1", [(0, 30)], user="users/33", email="BO.NEW@school.org")
    assert resolve(bo_now, followed, {}).person_key == "student:3"
    assert resolve(bo_now, ROSTER, {}).role == "guest"
    assert resolve(participant("p2", [(0, 30)], email="bo@school.org"), followed, {}).role == "guest"


@pytest.mark.parametrize(("versions", "kept"), [
    ([1], 1),
    ([1, 3, 2], 3),
    ([2, 2], 2),
    ([0], 0),
])
def test_of_several_entries_of_one_person_the_highest_version_wins(versions, kept):
    entries = [DirectoryEntry("student:3", v, f"v{v}", None) for v in versions]
    assert [e.version for e in latest_entries(entries)] == [kept]


def test_entries_come_in_person_key_order_the_lock_order():
    entries = [DirectoryEntry(k, 1, None, None) for k in ("teacher:1", "student:9", "student:10")]
    assert [e.person_key for e in latest_entries(entries)] == ["student:10", "student:9", "teacher:1"]


def test_an_empty_roster_follows_nothing():
    assert Roster(()).following({"student:3": NEW_BO}) == Roster(())
