"""Published content, versions that grow only on change, corrections that survive new data."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from attendance.content import StoredLog, computed_content, effective_content, payload, reconcile
from attendance.corrections import Correction, CorrectionRejected, Overrides, apply, audited
from attendance.merge import compute_logs
from attendance.messages import class_finalized, log_updated
from attendance.model import ClassContext, Policy
from tests.unit.attendance.factories import ROSTER, WINDOW, at, participant, record

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "events"
CTX = ClassContext(7, "0b7f3c1e-2d4a-4b6c-9d8e-7f6a5b4c3d2e", WINDOW)


def validator(name: str) -> Draft202012Validator:
    resources = [(s["$id"], Resource.from_contents(s)) for s in
                 (json.loads(p.read_text()) for p in SCHEMAS.glob("attendance.*.schema.json"))]
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return Draft202012Validator(schema, registry=Registry().with_resources(resources),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def computed(*records, final=False, mappings=None):
    return compute_logs(WINDOW, ROSTER, records, mappings or {}, Policy(), fetched_at=at(30), final=final)


def bo(*sessions):
    return participant("p1", list(sessions), user="users/3", email="bo@school.org", name="Bo")


def guest():
    return participant("p9", [(0, 10)], kind="anonymous", name="Visitor")


def stored_from(writes, overrides=None):
    overrides = overrides or {}
    return {w.person_key: StoredLog(i + 1, w.version, w.computed,
                                    effective_content(w.computed, overrides.get(w.person_key, Overrides())),
                                    overrides.get(w.person_key, Overrides()))
            for i, w in enumerate(writes)}


def test_new_logs_start_at_version_one_and_all_are_changed():
    writes = reconcile(CTX, {}, computed(record("c1", -5, None, bo((0, 20)))), final=False)
    assert [(w.person_key, w.version, w.changed, w.log_id) for w in writes] == [
        ("teacher:1", 1, True, None), ("student:3", 1, True, None), ("student:4", 1, True, None)]


def test_the_same_data_again_changes_nothing():
    logs = computed(record("c1", -5, None, bo((0, 20))))
    stored = stored_from(reconcile(CTX, {}, logs, final=False))
    again = reconcile(CTX, stored, logs, final=False)
    assert not any(w.changed for w in again) and [w.version for w in again] == [1, 1, 1]
    assert [w.log_id for w in again] == [1, 2, 3]


def test_only_the_log_whose_content_changed_gets_a_new_version():
    stored = stored_from(reconcile(CTX, {}, computed(record("c1", -5, None, bo((0, 20)))), final=False))
    later = reconcile(CTX, stored, computed(record("c1", -5, None, bo((0, 20), (25, 30)))), final=False)
    assert {w.person_key: (w.version, w.changed) for w in later} == {
        "teacher:1": (1, False), "student:3": (2, True), "student:4": (1, False)}


def test_becoming_final_changes_every_log():
    logs = computed(record("c1", -5, 65, bo((0, 20))))
    stored = stored_from(reconcile(CTX, {}, logs, final=False))
    assert all(w.changed and w.content["final"] for w in reconcile(CTX, stored, logs, final=True))


def test_a_person_who_no_longer_belongs_is_emptied_and_marked_removed_once():
    stored = stored_from(reconcile(CTX, {}, computed(record("c1", -5, 65, bo((0, 20)), guest())), final=False))
    key = "guest:anonymous:conferenceRecords/c1/participants/p9"
    gone = {w.person_key: w for w in reconcile(CTX, stored, computed(record("c1", -5, 65, bo((0, 20)))), final=False)}
    vacated = gone[key]
    assert vacated.changed and vacated.version == 2 and vacated.log is None
    assert {k: vacated.content[k] for k in ("removed", "joins", "attended_seconds", "billable_seconds", "status",
                                            "display_name", "role")} == {
        "removed": True, "joins": 0, "attended_seconds": 0, "billable_seconds": 0, "status": "absent",
        "display_name": "Visitor", "role": "guest"}
    restored = {**stored, key: StoredLog(stored[key].log_id, 2, vacated.computed, vacated.content)}
    again = {w.person_key: w for w in reconcile(CTX, restored, computed(record("c1", -5, 65, bo((0, 20)))),
                                                 final=False)}
    assert not again[key].changed


def test_corrections_survive_new_data_while_the_computed_values_move_on():
    first = reconcile(CTX, {}, computed(record("c1", -5, None, bo((0, 20)))), final=False)
    override = {"student:3": Overrides(billable_seconds=3000, status="present")}
    stored = stored_from(first, override)
    later = {w.person_key: w for w in reconcile(CTX, stored, computed(record("c1", -5, None, bo((0, 40)))),
                                                 final=False)}
    bo_log = later["student:3"]
    assert bo_log.content["billable_seconds"] == 3000 and bo_log.content["corrected"] is True
    assert bo_log.computed["billable_seconds"] == 2400 and bo_log.content["attended_seconds"] == 2400
    assert bo_log.changed and bo_log.version == 2


def test_effective_content_applies_only_what_was_overridden():
    base = computed_content(CTX, computed(record("c1", -5, None, bo((10, 20))))[1], final=False)
    assert effective_content(base, Overrides()) == base
    status_only = effective_content(base, Overrides(status="present"))
    assert (status_only["status"], status_only["billable_seconds"], status_only["corrected"]) == \
           ("present", base["billable_seconds"], True)
    assert base["status"] == "late"


def test_apply_correction_keeps_earlier_overrides_and_checks_limits():
    first = apply(Overrides(), Correction("teacher confirmed", billable_seconds=1200), WINDOW, 1800)
    second = apply(first, Correction("was there", status="present"), WINDOW, 1800)
    assert second == Overrides(1200, "present", "was there") and second.corrected
    full = Correction("full", billable_seconds=3600, allow_above_attended=True)
    assert apply(second, full, WINDOW, 1800) == Overrides(3600, "present", "full")
    with pytest.raises(CorrectionRejected):
        apply(second, Correction("too much", billable_seconds=3601, allow_above_attended=True), WINDOW, 3600)
    with pytest.raises(CorrectionRejected):
        apply(second, Correction("nothing"), WINDOW, 1800)
    assert not Overrides().corrected


# (correction, attended seconds) → the overrides, or None: rejected.
CORRECTIONS = [
    # A status that bills nothing sets billable to 0, unless the correction gives seconds too.
    (Correction("no show", status="absent"), 1800, Overrides(0, "absent", "no show")),
    (Correction("ill", status="excused"), 1800, Overrides(0, "excused", "ill")),
    (Correction("partly", status="absent", billable_seconds=600), 1800, Overrides(600, "absent", "partly")),
    (Correction("there", status="present"), 1800, Overrides(None, "present", "there")),
    (Correction("late", status="late"), 0, Overrides(None, "late", "late")),
    # Billable up to attended is a plain correction; above it only as an explicit override.
    (Correction("exact", billable_seconds=1800), 1800, Overrides(1800, None, "exact")),
    (Correction("one more", billable_seconds=1801), 1800, None),
    (Correction("one more", billable_seconds=1801, allow_above_attended=True), 1800,
     Overrides(1801, None, "one more")),
    (Correction("zero", billable_seconds=0), 0, Overrides(0, None, "zero")),
    (Correction("never there", billable_seconds=1), 0, None),
    (Correction("whole class", billable_seconds=3600, allow_above_attended=True), 0,
     Overrides(3600, None, "whole class")),
    (Correction("more than the class", billable_seconds=3601, allow_above_attended=True), 0, None),
]


@pytest.mark.parametrize(("correction", "attended", "expected"), CORRECTIONS)
def test_a_correction_keeps_status_and_money_consistent(correction, attended, expected):
    if expected is None:
        with pytest.raises(CorrectionRejected):
            apply(Overrides(), correction, WINDOW, attended)
    else:
        assert apply(Overrides(), correction, WINDOW, attended) == expected


def test_billable_above_attended_is_flagged_with_the_reason():
    base = computed_content(CTX, computed(record("c1", -5, None, bo((10, 20))))[1], final=False)
    assert (base["billable_override"], base["correction_reason"]) == (False, None)
    above = effective_content(base, Overrides(3600, None, "whole class"))
    assert (above["billable_override"], above["correction_reason"], above["corrected"]) == (True, "whole class", True)
    at = effective_content(base, Overrides(base["attended_seconds"], None, "checked"))
    assert (at["billable_override"], at["correction_reason"]) == (False, "checked")
    absent = effective_content(base, Overrides(0, "absent", "no show"))
    assert (absent["billable_seconds"], absent["status"], absent["billable_override"]) == (0, "absent", False)


def test_audit_values_are_the_correctable_ones():
    assert audited({"billable_seconds": 5, "status": "late", "joins": 1}) == {"billable_seconds": 5, "status": "late"}


def test_published_payloads_validate_against_the_json_schemas():
    records = [record("c1", -5, 65, bo((0, 20), (30, 60)), guest(),
                      participant("p2", [(0, 60)], user="users/9", email="z@x.org", name="Z"))]
    final_ctx = replace(CTX, final_reason="calls_ended")
    writes = reconcile(final_ctx, {}, computed(*records, final=True), final=True)
    log_schema = validator("attendance.log.updated")
    payloads = []
    for i, w in enumerate(writes, start=1):
        event = log_updated(payload(i, w.version, w.content))
        log_schema.validate(event.data)
        payloads.append(event.data)
    finalized = validator("attendance.class.finalized")
    finalized.validate(class_finalized(final_ctx, at(70), payloads).data)
    assert {p["role"] for p in payloads} == {"teacher", "student", "guest"}
    assert {p["final_reason"] for p in payloads} == {"calls_ended"}
    not_final = [{**p, "final_reason": None} for p in payloads]
    assert list(finalized.iter_errors(class_finalized(CTX, at(70), not_final).data))  # a reason is required


def test_the_schemas_reject_what_they_should():
    good = payload(1, 1, computed_content(CTX, computed(record("c1", -5, 65, bo((0, 20))))[1], final=False))
    schema = validator("attendance.log.updated")
    schema.validate(good)
    for broken in ({**good, "role": "parent"}, {**good, "billable_seconds": -1}, {**good, "student_id": None},
                   {k: v for k, v in good.items() if k != "removed"}, {**good, "first_join": "10:00"}):
        assert list(schema.iter_errors(broken)), broken


def test_event_ids_are_deterministic_per_log_version_and_per_class():
    content = computed_content(CTX, computed()[0], final=True)
    assert log_updated(payload(1, 2, content)).id == log_updated(payload(1, 2, content)).id
    assert log_updated(payload(1, 2, content)).id != log_updated(payload(1, 3, content)).id
    assert class_finalized(CTX, at(70), []).id == class_finalized(CTX, at(99), []).id
    event = log_updated(payload(1, 2, content))
    assert (event.type, event.source, event.subject) == ("attendance.log.updated", "/academy/attendance", "class/7")
