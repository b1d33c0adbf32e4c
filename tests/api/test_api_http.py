"""What every service answers around its operations: the API reference at /docs from vendored files,
401 on every secured operation without a token, Allow on a 405, Location that reads what a 201 made."""
from __future__ import annotations

import re

import pytest
import requests

from academy_common.http import PROBLEM_TYPE_BASE
from tests.badinput.stacks import SERVICES, openapi
from tests.support.services import ADMIN

METHODS = {"get", "put", "post", "patch", "delete"}


def _secured_operations(name: str):
    document = openapi(name)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS and operation.get("security", document["security"]):
                yield method, re.sub(r"\{[^}]+\}", lambda m: "2026-10" if m[0] == "{period}" else "1", path)


@pytest.mark.parametrize("name", SERVICES)
def test_docs_serves_swagger_ui_and_its_assets_without_a_token(name, live):
    page = requests.get(f"{live.url(name)}/docs", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and not [a for a in assets if "//" in a], f"/docs loads from elsewhere: {assets}"
    for asset in assets:
        answer = requests.get(f"{live.url(name)}/{asset}", timeout=10)
        assert answer.status_code == 200 and answer.content, asset
    bundle = requests.get(f"{live.url(name)}/docs/swagger-ui-bundle.js", timeout=10)
    assert bundle.headers["Content-Type"].startswith("text/javascript") and b"SwaggerUIBundle" in bundle.content
    init = requests.get(f"{live.url(name)}/docs/init.js", timeout=10).text
    assert 'url: "openapi.yaml"' in init


@pytest.mark.parametrize("name", SERVICES)
def test_every_secured_operation_is_a_401_problem_without_a_token(name, live):
    for method, path in _secured_operations(name):
        answer = requests.request(method.upper(), f"{live.url(name)}{path}", json={}, timeout=10)
        assert answer.status_code == 401, (method, path, answer.status_code)
        assert answer.headers["Content-Type"].startswith("application/problem+json")
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert answer.json()["type"] == f"{PROBLEM_TYPE_BASE}unauthorized"


@pytest.mark.parametrize("name", ["scheduler", "attendance", "billing"])
def test_a_405_names_the_methods_the_path_has(name, live):
    for path, item in openapi(name)["paths"].items():
        if "delete" in item or "{" in path and "period" in path:
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        answer = requests.delete(f"{live.url(name)}{concrete}", headers=ADMIN, timeout=10)
        assert answer.status_code == 405, (path, answer.status_code)
        allowed = {m.strip().lower() for m in answer.headers["Allow"].split(",")}
        assert {m for m in item if m in METHODS} <= allowed, (path, allowed)
        assert answer.json()["type"] == f"{PROBLEM_TYPE_BASE}method-not-allowed"


def test_a_201_location_reads_what_was_created(live):
    base = live.url("scheduler")
    created = requests.post(f"{base}/api/teachers", json={"name": "Grace", "email": "grace@school.org"},
                            headers=ADMIN, timeout=10)
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"/api/teachers/{created.json()['id']}"
    read = requests.get(f"{base}{created.headers['Location']}", headers=ADMIN, timeout=10)
    assert read.status_code == 200 and read.json() == created.json()
