"""Rates over HTTP (validation, history) and who may see money."""
from __future__ import annotations

import pytest

from tests.support.closing import close_job, close_month
from tests.support.services import ADMIN, BILLING, CAROL, VIEWER

GOOD = {"hourly_rate_cents": 2500, "currency": "EUR", "effective_from": "2025-03-01"}


@pytest.mark.parametrize("kind,id_field", [("families", "family_id"), ("teachers", "teacher_id")])
async def test_rates_keep_their_history_oldest_first(api, kind, id_field):
    path = f"/billing/rates/{kind}/4"
    assert (await api("GET", path))[1] == {id_field: 4, "rates": []}
    await api("PUT", path, json=GOOD | {"effective_from": "2025-06-01T08:30:00+02:00", "hourly_rate_cents": 3000})
    status, body = await api("PUT", path, json=GOOD, headers=ADMIN)
    assert status == 200 and body["repriced_lines"] == 0
    status, history = await api("GET", path)
    assert status == 200 and history[id_field] == 4
    assert [(r["effective_from"], r["hourly_rate_cents"], r["currency"]) for r in history["rates"]] == [
        ("2025-03-01T00:00:00Z", 2500, "EUR"), ("2025-06-01T06:30:00Z", 3000, "EUR")]
    assert history["rates"][0]["updated_by"] == "admin" and history["rates"][1]["updated_by"] == "billing"



async def test_rates_and_a_close_record_the_name_of_a_named_token(api):
    path = "/billing/rates/families/4"
    assert (await api("PUT", path, json=GOOD, headers=CAROL))[0] == 200
    assert (await api("PUT", path, json=GOOD | {"effective_from": "2025-04-01"}))[0] == 200
    _, history = await api("GET", path)
    assert [r["updated_by"] for r in history["rates"]] == ["billing:carol", "billing"]
    job = await close_job(api, "2020-01", headers=CAROL)
    assert job["state"] == "done" and job["requested_by"] == "billing:carol"
    closed = await close_month(api, "2020-01")  # a second close answers the same job
    assert closed["closed_by"] == "billing:carol"

INVALID = [
    GOOD | {"hourly_rate_cents": -1},
    GOOD | {"hourly_rate_cents": 25.5},
    GOOD | {"hourly_rate_cents": "2500"},
    GOOD | {"hourly_rate_cents": True},
    GOOD | {"hourly_rate_cents": 10**12},
    GOOD | {"currency": "eur"},
    GOOD | {"currency": "EURO"},
    GOOD | {"currency": ""},
    GOOD | {"effective_from": "2025-03-01T00:00:00"},  # no offset: ambiguous
    GOOD | {"effective_from": "yesterday"},
    GOOD | {"effective_from": "2025-02-30"},
    GOOD | {"effective_from": "2025-03-01T25:00:00Z"},
    GOOD | {"effective_from": 1740787200},
    GOOD | {"hourly_rate": 2500},
    {"currency": "EUR", "effective_from": "2025-03-01"},
    [GOOD],
]


async def test_invalid_rates_are_422_and_store_nothing(api):
    for body in INVALID:
        status, problem = await api("PUT", "/billing/rates/families/4", json=body)
        assert status == 422 and problem["status"] == 422 and problem["detail"], (body, problem)
    assert (await api("GET", "/billing/rates/families/4"))[1]["rates"] == []


async def test_a_body_that_is_not_json_is_400(api):
    status, problem = await api("PUT", "/billing/rates/teachers/4", data=b"{not json",
                                headers=BILLING | {"Content-Type": "application/json"})
    assert status == 400 and problem["status"] == 400


async def test_an_id_that_is_not_an_id_is_404(api):
    for party_id in ("abc", "0", "-3", "99999999999999999999"):
        assert (await api("PUT", f"/billing/rates/families/{party_id}", json=GOOD))[0] == 404
        assert (await api("GET", f"/billing/rates/teachers/{party_id}"))[0] == 404


MONEY = [
    ("GET", "/monitoring/billing/families?year=2025&month=3", None),
    ("GET", "/monitoring/payroll/teachers?year=2025&month=3", None),
    ("GET", "/billing/rates/families/1", None),
    ("GET", "/billing/rates/teachers/1", None),
    ("PUT", "/billing/rates/families/1", GOOD),
    ("PUT", "/billing/rates/teachers/1", GOOD),
    ("GET", "/billing/periods/2025-03", None),
]


async def test_money_needs_billing_or_admin(http):
    for method, path, body in MONEY:
        for headers, expected in ((VIEWER, 403), ({}, 401), ({"Authorization": "Bearer nope"}, 401),
                                  (BILLING, 200), (ADMIN, 200)):
            for accept in ("application/json", "text/csv"):
                async with http.request(method, path, json=body, headers=headers | {"Accept": accept}) as response:
                    assert response.status == expected, (path, headers, accept, await response.text())
                    if expected >= 400:
                        assert response.content_type == "application/problem+json"


async def test_health_metrics_and_openapi_need_no_token(http):
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.yaml"):
        assert (await http.get(path)).status == 200
    assert "billing_events_applied_total" in await (await http.get("/metrics")).text()
