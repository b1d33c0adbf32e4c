"""The one topology definition names exactly the events each service's consumer handles."""
from __future__ import annotations

import pytest

from academy_common import topology
from attendance.messages import CLASS_LIFECYCLE, CLASS_SNAPSHOTS, DIRECTORY, PARTICIPANTS_FETCHED
from billing.handlers import Projection
from meet_fetcher.messages import REQUESTED


@pytest.mark.parametrize(("queue", "handled"), [
    ("attendance.events", {*CLASS_SNAPSHOTS, *CLASS_LIFECYCLE, PARTICIPANTS_FETCHED, *DIRECTORY}),
    ("billing.events", set(Projection("UTC").handlers)),
    ("meet-fetcher.fetch-requests", {REQUESTED}),
    ("scheduler.fetch-outcomes", {"meet.fetch_failed", "attendance.class.finalized"}),
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
