"""Every operation of every OpenAPI document, fuzzed with hypothesis (issue 8, "Bad input").

Requests come from the documents (tests/badinput/openapi_requests.py): valid by the schemas, of
the wrong shape, hostile, or not JSON at all, always with a token the route allows (admin). For
each one: never a 5xx; a 4xx is problem+json and leaves the stored data as it was (no row, no
outbox event); a GET changes nothing; a 2xx is a status the document lists, in a media type it
lists, and parses. A valid write legitimately stores data: the next request starts from there.

Each service starts with a little data (ids 1..5 are what the generated paths mostly name), so
corrections, mappings, class changes and period closes reach their database writes.
"""
from __future__ import annotations

import csv
import io
import json

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.badinput.openapi_requests import Operation, Request, inline, operations, requests
from tests.badinput.problems import assert_problem, send
from tests.badinput.seeds import SEEDS
from tests.badinput.stacks import SERVICES, Snapshots, openapi
from tests.support.services import ADMIN
from tests.support.waiting import eventually

OPERATIONS = {name: {str(op): op for op in operations(openapi(name))} for name in SERVICES}


@pytest.fixture
async def stack(name, start, client):
    """The service with its seed data (started once for all the examples of a test) and a client on it."""
    async with start(name) as service, client(service) as http:
        channel = await service.bus.connection.channel()
        sink = await channel.declare_queue(exclusive=True)  # takes the events no other queue binds
        await sink.bind(service.settings.bus_exchange, "#")
        await SEEDS[name](service, http)
        await eventually(Snapshots(service).settled, timeout=10, interval=0.1)
        yield service, http
        await channel.close()


@pytest.mark.parametrize("name", SERVICES)
@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
async def test_every_documented_operation_survives_generated_requests(name, stack, data):
    service, http = stack
    op = OPERATIONS[name][data.draw(st.sampled_from(sorted(OPERATIONS[name])), label="operation")]
    request = data.draw(requests(op), label="request")
    snapshots = Snapshots(service)
    before = await snapshots.take()
    status, content_type, body = await send(http, request, ADMIN)
    event(f"{op} {status}")  # --hypothesis-show-statistics: what each operation answered
    assert status < 500, f"{request!r}: {status} {body[:500]!r}"
    if status >= 400:
        assert_problem(status, content_type, body, request)
    else:
        check_success(op, request, status, content_type, body)
    if status >= 400 or request.method == "GET":
        after = await snapshots.take()
        changed = sorted(table for table in after.keys() | before.keys() if after.get(table) != before.get(table))
        assert not changed, f"{request!r} answered {status} but changed {changed}"
    else:  # a write that was accepted: whatever it starts in the background ends before the next request
        await eventually(snapshots.settled, timeout=10, interval=0.05)


def check_success(op: Operation, request: Request, status: int, content_type: str, body: bytes) -> None:
    documented = op.spec["responses"].get(str(status))
    assert documented is not None, f"{request!r}: {status}, which the document does not list for {op}"
    media_types = inline(documented, op.doc).get("content", {})
    if media_types:
        assert content_type in media_types, f"{request!r}: {status} {content_type}, documented {list(media_types)}"
    if content_type == "application/json":
        json.loads(body)
    elif content_type == "text/csv":
        header, *rows = csv.reader(io.StringIO(body.decode("utf-8")))
        assert all(len(row) == len(header) for row in rows), f"{request!r}: ragged CSV"
    elif content_type == "application/yaml":
        yaml.safe_load(body)
    else:
        body.decode("utf-8")
