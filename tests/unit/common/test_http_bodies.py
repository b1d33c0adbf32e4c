"""What the shared HTTP layer reads from a request body or query: JSON's integers, no nulls for
fields to leave out, no unknown query parameters, RFC 3339 text for instants."""
from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from academy_common.events import Instant
from academy_common.http import JsonBody, JsonInt, Problem, read_query


class Body(JsonBody):
    count: JsonInt
    name: str | None = None


class Query(BaseModel):
    when: Instant | None = None


@pytest.mark.parametrize(("value", "expected"), [(3, 3), (3.0, 3), (0.0, 0), (-2.0, -2)])
def test_an_integral_json_number_is_an_integer(value, expected):
    assert Body.model_validate({"count": value}).count == expected


@pytest.mark.parametrize("value", [3.5, "3", True, None, [3]])
def test_anything_else_is_not(value):
    with pytest.raises(ValidationError):
        Body.model_validate({"count": value})


def test_an_optional_field_is_left_out_not_sent_as_null():
    assert Body.model_validate({"count": 1}).name is None
    with pytest.raises(ValidationError, match="leave name out"):
        Body.model_validate({"count": 1, "name": None})


def test_a_body_with_an_unknown_field_is_refused():
    with pytest.raises(ValidationError):
        Body.model_validate({"count": 1, "colour": "red"})


@pytest.mark.parametrize("text", ["0.5", "1700000000", "", "2026-10-15", "15/10/2026 10:00"])
def test_an_instant_is_rfc3339_text_not_a_unix_time(text):
    with pytest.raises(ValidationError):
        Query.model_validate({"when": text})


@pytest.mark.parametrize("text", ["2026-10-15T10:00:00Z", "2026-10-15T12:00:00+02:00", "2026-10-15 10:00:00Z"])
def test_rfc3339_instants_are_read_in_utc(text):
    assert Query.model_validate({"when": text}).when.isoformat() == "2026-10-15T10:00:00+00:00"


class _Request:
    def __init__(self, **query: str):
        self.query = query


def test_a_query_parameter_the_model_does_not_name_is_a_422():
    with pytest.raises(Problem) as raised:
        read_query(_Request(when="2026-10-15T10:00:00Z", limt="5"), Query)
    assert raised.value.status == 422 and "'limt'" in raised.value.detail
    assert read_query(_Request(when="2026-10-15T10:00:00Z"), Query).when is not None
