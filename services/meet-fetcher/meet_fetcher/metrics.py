"""Prometheus metrics of the fetcher (the Meet client's own are in academy_common.meet_api)."""
from prometheus_client import Counter, Histogram

FETCHES = Counter("meet_fetches_total", "Fetches by request reason and outcome (ok | failed | error)",
                  ["reason", "outcome"])
CALLS_PER_FETCH = Histogram("meet_calls_per_fetch", "Google API calls one fetch made",
                            buckets=(1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 24, 32, 64, 128, 256))
FETCH_SECONDS = Histogram("meet_fetch_seconds", "Duration of one fetch, publish included",
                          buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120))
