"""Page tokens, injected errors, quotas and stats."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meet_emulator.errors import ApiError
from meet_emulator.faults import Faults
from meet_emulator.pagination import decode_token, encode_token, paginate
from meet_emulator.quota import QuotaLimits, QuotaTracker
from meet_emulator.stats import Stats


def key(item: int) -> tuple[int, str]:
    return -item, f"n{item:05d}"


@given(st.sets(st.integers(0, 10_000), max_size=60), st.integers(1, 17))
def test_paging_visits_everything_once_in_order(items, size):
    seen: list[int] = []
    token = None
    while True:
        page, token = paginate(list(items), key, size, token, "ctx")
        assert len(page) <= size
        seen += page
        if token is None:
            break
    assert seen == sorted(items, reverse=True)


def test_last_page_has_no_token():
    page, token = paginate([1, 2, 3], key, 3, None, "ctx")
    assert page == [3, 2, 1] and token is None
    assert paginate([], key, 3, None, "ctx") == ([], None)


def test_items_appearing_between_pages_do_not_duplicate():
    page1, token = paginate([10, 9, 8, 7], key, 2, None, "ctx")
    page2, _ = paginate([11, 10, 9, 8, 7], key, 2, token, "ctx")  # 11 is newer than the cursor
    assert page1 == [10, 9] and page2 == [8, 7]


@pytest.mark.parametrize("token", ["garbage", "e30", "!!!", encode_token((1, "x"), "other-query"), "eyJrIjpbMSwyXSwiYyI6IngifQ"])
def test_invalid_tokens_are_400(token):
    with pytest.raises(ApiError) as info:
        decode_token(token, "ctx")
    assert info.value.code == 400 and info.value.status == "INVALID_ARGUMENT"


def test_error_rules_count_after_and_patterns():
    faults = Faults.from_dict({"errors": [
        {"method": "conferenceRecords.*", "status": 503, "count": 2, "after": 1},
        {"method": "people.*", "status": 500, "count": 1},
    ]})
    assert faults.take_error("conferenceRecords.list") is None  # 'after' lets the first one pass
    assert faults.take_error("conferenceRecords.list").status == "UNAVAILABLE"
    assert faults.take_error("conferenceRecords.participants.list").code == 503
    assert faults.take_error("conferenceRecords.list") is None  # spent
    assert faults.take_error("spaces.get") is None
    assert faults.take_error("people.get").status == "INTERNAL"
    assert faults.take_error("people.get") is None
    assert faults.to_dict()["errors"][0]["remaining"] == 0


def test_unlimited_error_rule_and_429_shape():
    faults = Faults.from_dict({"errors": [{"method": "people.get", "status": 429, "count": None}]})
    for _ in range(5):
        error = faults.take_error("people.get")
        assert error.code == 429 and error.status == "RESOURCE_EXHAUSTED"
    assert error.body()["error"]["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"


@pytest.mark.parametrize(
    "bad",
    [
        {"nope": 1},
        {"errors": [{"status": 200}]},
        {"errors": [{"status": 503, "count": -1}]},
        {"errors": [{"status": 503, "colour": "red"}]},
        {"errors": ["x"]},
        {"latency_ms": -5},
        {"latency_ms": "slow"},
        {"page_size_cap": 0},
        {"quota": {"per_user_per_hour": 5}},
        {"quota": {"per_user_per_minute": -1}},
        {"timestamp_digits": 4},
        [],
    ],
)
def test_bad_fault_configs(bad):
    with pytest.raises(ValueError):
        Faults.from_dict(bad)


def test_quota_per_user_and_project_sliding_window():
    now = [0.0]
    tracker = QuotaTracker(lambda: now[0])
    limits = QuotaLimits(per_user_per_minute=2, per_project_per_minute=3)
    assert tracker.check("read", "alice", limits) is None
    assert tracker.check("read", "alice", limits) is None
    over = tracker.check("read", "alice", limits)
    assert over.code == 429 and "per user" in over.message
    assert tracker.check("read", "bob", limits) is None
    over = tracker.check("read", "carol", limits)
    assert over.code == 429 and "per user" not in over.message  # the project limit
    assert tracker.check("write", "alice", limits) is None  # other bucket, no limit
    now[0] = 59.9
    assert tracker.check("read", "dave", limits) is not None
    now[0] = 60.0  # the first calls leave the window
    assert tracker.check("read", "alice", limits) is None


def test_quota_buckets_are_separate():
    tracker = QuotaTracker(lambda: 0.0)
    limits = QuotaLimits(people_per_user_per_minute=1)
    assert tracker.check("people", "u", limits) is None
    assert tracker.check("people", "u", limits).code == 429
    assert tracker.check("read", "u", limits) is None


def test_stats():
    stats = Stats()
    stats.record("spaces.get", 200, "a")
    stats.record("spaces.get", 404, "b")
    stats.record("people.get", 200, "a")
    snap = stats.snapshot()
    assert snap == {
        "total": 3,
        "by_method": {"spaces.get": 2, "people.get": 1},
        "by_method_status": {"spaces.get": {"200": 1, "404": 1}, "people.get": {"200": 1}},
        "by_user": {"a": 2, "b": 1},
    }
    assert stats.count("spaces.get", 404) == 1
    stats.reset()
    assert stats.snapshot()["total"] == 0
