"""The one topology definition names exactly the events each service's consumer handles."""
from __future__ import annotations

import pytest

from academy_common import topology
from academy_common.contracts import CLASS_FINALIZED, FETCH_FAILED, FETCH_REQUESTED
from attendance.messages import CONSUMED
from billing.handlers import Projection


@pytest.mark.parametrize(("queue", "handled"), [
    ("attendance.events", set(CONSUMED)),
    ("billing.events", set(Projection("UTC").handlers)),
    ("meet-fetcher.fetch-requests", {FETCH_REQUESTED.type}),
    ("scheduler.fetch-outcomes", {FETCH_FAILED.type, CLASS_FINALIZED.type}),
])
def test_each_queue_is_bound_to_the_events_its_consumer_handles(queue, handled):
    assert set(topology.routing_keys(queue)) == handled


def test_every_service_queue_is_in_the_topology_once():
    names = [q.name for q in topology.QUEUES]
    assert sorted(names) == sorted(set(names)) == sorted(
        ["attendance.events", "billing.events", "meet-fetcher.fetch-requests", "scheduler.fetch-outcomes"])


def test_an_unknown_queue_is_an_error():
    with pytest.raises(KeyError):
        topology.routing_keys("nobody.events")
