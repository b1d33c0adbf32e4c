"""Events checked against the generated contract files (docs/events/<type>.schema.json), as an
outside consumer would check them: a producer's real output must match what is documented."""
from __future__ import annotations

import functools
import json
from pathlib import Path

from jsonschema import Draft202012Validator

from academy_common.contracts import EVENT_TYPES
from academy_common.events import CloudEvent

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events"


@functools.cache
def schema_validator(event_type: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{event_type}.schema.json").read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def assert_conforms(event: CloudEvent) -> None:
    """The event's data matches its type's JSON Schema, and it comes from the type's producer."""
    assert event.source == EVENT_TYPES[event.type].source, f"{event.type} from {event.source}"
    schema_validator(event.type).validate(event.data)
