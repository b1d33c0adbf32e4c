"""Every secured route of every OpenAPI document: no/wrong token → 401, a role it refuses → 403.

ROLES is the role table, read from the route decorators (`@requires`) and the documents ("Admin
writes; viewer and billing read" for scheduler and attendance, money for billing only). It must
cover exactly the secured operations the documents list, so a new route needs a decision here.
"""
from __future__ import annotations

import re

import pytest

from tests.badinput.openapi_requests import operations
from tests.badinput.problems import assert_problem
from tests.badinput.stacks import SERVICES, openapi
from tests.support.services import TEST_TOKENS

ALL, ADMIN_ONLY, MONEY = {"admin", "viewer", "billing"}, {"admin"}, {"admin", "billing"}
ROLES: dict[tuple[str, str], set[str]] = {
    **{("GET", p): ALL for p in (
        "/api/teachers", "/api/teachers/{id}", "/api/families", "/api/families/{id}", "/api/students",
        "/api/students/{id}", "/api/schedule/classes", "/api/schedule/classes/{id}", "/monitoring/status",
        "/monitoring/attendance-logs", "/monitoring/attendance-logs/{log_id}", "/monitoring/unmatched")},
    **{("POST", p): ADMIN_ONLY for p in (
        "/api/teachers", "/api/families", "/api/students", "/api/teachers/{id}/deactivate",
        "/api/families/{id}/deactivate", "/api/students/{id}/deactivate", "/api/schedule/classes",
        "/api/schedule/classes/{id}/cancel", "/monitoring/sync-participants/{class_id}",
        "/monitoring/sync-all-active", "/monitoring/attendance-logs/{log_id}/corrections",
        "/monitoring/unmatched/mappings")},
    **{("PATCH", p): ADMIN_ONLY for p in (
        "/api/teachers/{id}", "/api/families/{id}", "/api/students/{id}", "/api/schedule/classes/{id}")},
    **{(m, p): MONEY for m, p in (
        ("GET", "/monitoring/billing/families"), ("GET", "/monitoring/payroll/teachers"),
        ("GET", "/billing/rates/families/{party_id}"), ("PUT", "/billing/rates/families/{party_id}"),
        ("GET", "/billing/rates/teachers/{party_id}"), ("PUT", "/billing/rates/teachers/{party_id}"),
        ("GET", "/billing/periods/{period}"), ("POST", "/billing/periods/{period}/close"),
        ("GET", "/billing/close-jobs/{job_id}"))},
}
TOKEN_OF = {role: token for token, role in TEST_TOKENS.items()}
PATH_VALUES = {"period": "2020-01", "job_id": "7d3c9b1e-0000-4000-8000-000000000000"}
WRONG = [None, "Bearer", "Bearer nope", "Bearer  ", "Basic YWRtOmFkbQ==", "bearer test-admin-token-0001x",
         "test-admin-token-0001", "Bearer TEST-ADMIN-TOKEN-0001", "Bearer test-admin-token-000"]


def secured(name: str):
    return [op for op in operations(openapi(name)) if op.secured]


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "1"), path)


def test_the_role_table_covers_exactly_the_secured_operations():
    documented = {(op.method.upper(), op.path) for name in SERVICES for op in secured(name)}
    assert documented == set(ROLES)


@pytest.mark.parametrize("name", SERVICES)
async def test_every_route_refuses_missing_wrong_tokens_and_roles(name, start, client):
    async with start(name) as service, client(service) as http:
        for op in secured(name):
            path, method = concrete(op.path), op.method.upper()
            for header in WRONG:
                headers = {"Authorization": header} if header is not None else {}
                async with http.request(method, path, headers=headers) as answer:
                    problem = assert_problem(answer.status, answer.content_type, await answer.read(), f"{op} {header}")
                    assert answer.status == 401, (op, header, problem)
                    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
            for role in sorted({"viewer", "billing"} - ROLES[(method, op.path)]):
                async with http.request(method, path, json={}, headers={"Authorization": f"Bearer {TOKEN_OF[role]}"}) as answer:
                    assert_problem(answer.status, answer.content_type, await answer.read(), f"{op} as {role}")
                    assert answer.status == 403, (op, role)
            for role in sorted(ROLES[(method, op.path)]):
                async with http.request(method, path, json={}, headers={"Authorization": f"Bearer {TOKEN_OF[role]}"}) as answer:
                    assert answer.status not in (401, 403, 500), (op, role, await answer.text())


@pytest.mark.parametrize("name", SERVICES)
async def test_public_routes_need_no_token(name, start, client):
    async with start(name) as service, client(service) as http:
        for path in ("/healthz", "/readyz", "/metrics", "/openapi.yaml"):
            async with http.get(path) as answer:
                assert answer.status == 200, path
