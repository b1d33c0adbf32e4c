"""docs/operations.md stays in step with what the services expose and the manifests do."""
from __future__ import annotations

import pytest
from deploy_support import FETCH_QUEUE, REPO

METRICS = [
    "http_requests_total", "http_request_duration_seconds", "bus_messages_consumed_total", "bus_batch_size",
    "bus_messages_published_total", "outbox_pending", "outbox_relay_lag_seconds", "outbox_dead_lettered_total",
    "meet_api_calls_total", "meet_api_call_seconds", "meet_quota_wait_seconds", "meet_fetches_total",
    "meet_calls_per_fetch",
    "scheduler_ticks_total", "scheduler_fetch_requests_total", "attendance_logs_updated_total",
]


@pytest.fixture(scope="module")
def guide() -> str:
    return (REPO / "docs" / "operations.md").read_text()


@pytest.mark.parametrize("metric", METRICS)
def test_metric_is_documented(guide: str, metric: str) -> None:
    assert f"`{metric}`" in guide


@pytest.mark.parametrize("topic", ["kubectl apply -k", "## Probes", "## Graceful shutdown", "maxReplicaCount",
                                   "## Alerts", ".dlq", "outbox", "429", FETCH_QUEUE, "/readyz", "/healthz"])
def test_guide_covers(guide: str, topic: str) -> None:
    assert topic in guide
