"""The event contracts: the committed AsyncAPI document and JSON Schemas are what the models in
academy_common.contracts generate, the AsyncAPI document is valid AsyncAPI 3.0, and every
type's example in docs/events.md parses through its model and matches its schema.

A producer's real output is checked against the same schemas where the integration tests
observe it (tests/support/contracts.py `assert_conforms`): the scheduler's directory, class and
ticker events in tests/integration/scheduler, the fetcher's answers in
tests/integration/meet_fetcher/test_fetcher_failures.py, and every event attendance publishes
in tests/integration/attendance (its harness checks each one).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator
from pydantic import ValidationError

from academy_common.contracts import EVENT_TYPES, LOG_UPDATED
from scripts import contracts
from tests.support.contracts import schema_validator

ASYNCAPI_SCHEMA = Path(__file__).with_name("asyncapi-3.0.0.schema.json")  # @asyncapi/specs 6.11.1, Apache-2.0
EXAMPLES = contracts.examples()


def test_the_committed_contract_files_are_what_the_models_generate():
    assert contracts.stale() == [], "run `make contracts` and commit the result"


def test_a_changed_model_makes_the_committed_files_stale(monkeypatch):
    schema = contracts.data_schema(LOG_UPDATED)
    monkeypatch.setattr(contracts, "data_schema", lambda event: {**schema, "title": "changed"})
    assert contracts.DOCS / "events" / "attendance.log.updated.schema.json" in contracts.stale()


def _asyncapi_errors(document: dict) -> list[str]:
    validator = Draft7Validator(json.loads(ASYNCAPI_SCHEMA.read_text()))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_the_asyncapi_document_is_valid_asyncapi_3():
    document = yaml.safe_load((contracts.DOCS / "asyncapi.yaml").read_text())
    assert document["asyncapi"] == "3.0.0"
    assert _asyncapi_errors(document) == []
    names = {m["name"] for m in document["components"]["messages"].values()}
    assert names == set(EVENT_TYPES)


def test_the_asyncapi_schema_refuses_an_invalid_document():
    document = yaml.safe_load((contracts.DOCS / "asyncapi.yaml").read_text())
    broken = copy.deepcopy(document)
    broken["operations"]["publishAttendance"]["action"] = "publish"  # AsyncAPI 2 wording, not 3
    assert _asyncapi_errors(broken)


def test_docs_events_md_has_one_example_per_type():
    assert sorted(EXAMPLES) == sorted(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_the_documented_example_parses_and_matches_the_generated_schema(event_type):
    example = EXAMPLES[event_type]
    parsed = EVENT_TYPES[event_type].model.produce(example)
    assert parsed.wire() == example  # in full: exactly what the producer would send
    schema_validator(event_type).validate(example)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_a_producer_cannot_send_a_field_the_contract_does_not_name(event_type):
    event = EVENT_TYPES[event_type]
    with pytest.raises(ValidationError, match="not in the .* contract: surprise"):
        event.build({**EXAMPLES[event_type], "surprise": 1})
    assert "surprise" not in event.model.model_validate({**EXAMPLES[event_type], "surprise": 1}).wire()


def test_a_built_event_carries_its_type_source_and_data_as_documented():
    event = LOG_UPDATED.build(EXAMPLES[LOG_UPDATED.type], id="e-1", subject="class/7")
    assert (event.type, event.source, event.id, event.subject) == (
        "attendance.log.updated", "/academy/attendance", "e-1", "class/7")
    assert event.data == EXAMPLES[LOG_UPDATED.type]
    assert LOG_UPDATED.parse(event).person_key == "student:3"


def test_no_service_builds_or_reads_event_data_around_the_contracts():
    services = Path(__file__).resolve().parents[2] / "services"
    bypasses = [f"{path.relative_to(services)}: {needle}" for path in services.rglob("*.py")
                for needle in ("new_event(", "CloudEvent(", "event.data") if needle in path.read_text()]
    assert bypasses == []


def test_a_field_unknown_to_a_nested_model_is_refused_at_the_producer_too():
    finalized = EXAMPLES["attendance.class.finalized"]
    log = {**finalized["logs"][0], "surprise": 1}
    with pytest.raises(ValidationError, match="not in the AttendanceLog contract: surprise"):
        EVENT_TYPES["attendance.class.finalized"].build({**finalized, "logs": [log]})
