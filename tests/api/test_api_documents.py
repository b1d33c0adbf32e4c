"""The OpenAPI documents as integrators' tools read them: valid OpenAPI 3.1, and complete.

Every operation has an operationId, a summary and the problem responses it can answer; bodies
have examples; 201s promise Location; lists document their paging; problem types are the ones
docs/problems.md lists.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from academy_common.http import PROBLEM_KINDS, PROBLEM_TYPE_BASE
from tests.badinput.stacks import SERVICES, openapi, openapi_path

REPO = Path(__file__).resolve().parents[2]
METHODS = {"get", "put", "post", "patch", "delete"}
PUBLIC = {"/healthz", "/readyz", "/metrics", "/openapi.yaml", "/docs"}


def _operations(name: str):
    document = openapi(name)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                parameters = item.get("parameters", []) + operation.get("parameters", [])
                yield path, method, operation, [_resolve(document, p) for p in parameters]


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        ref, node = node["$ref"], document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    return node


@pytest.mark.parametrize("name", SERVICES)
def test_the_document_is_valid_openapi(name):
    validate(openapi(name))


@pytest.mark.parametrize("name", SERVICES)
def test_every_operation_has_an_id_a_summary_and_its_problem_responses(name):
    document, ids = openapi(name), []
    for path, method, operation, parameters in _operations(name):
        where = f"{method.upper()} {path}"
        assert re.fullmatch(r"[a-z][A-Za-z]+", operation.get("operationId", "")), where
        assert operation.get("summary"), where
        ids.append(operation["operationId"])
        if path in PUBLIC:
            assert operation.get("security") == [], where
            continue
        wanted = {"401", "403"}
        if any(p.get("in") == "path" for p in parameters) and not path.startswith("/billing/periods"):
            wanted.add("404")
        if any(p["in"] != "path" for p in parameters) or "requestBody" in operation or "{period}" in path:
            wanted.add("422")
        if "requestBody" in operation:
            wanted |= {"400", "415"}
        assert wanted <= set(operation["responses"]), f"{where} lacks {sorted(wanted - set(operation['responses']))}"
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                media = _resolve(document, response)["content"]
                assert list(media) == ["application/problem+json"], (where, status)
                assert "example" in media["application/problem+json"], (where, status)
    assert len(ids) == len(set(ids)), "operationIds repeat"


@pytest.mark.parametrize("name", SERVICES)
def test_bodies_have_examples_and_creations_promise_location(name):
    for path, method, operation, _ in _operations(name):
        where = f"{method.upper()} {path}"
        if "requestBody" in operation:
            assert "example" in operation["requestBody"]["content"]["application/json"], where
        if "201" in operation["responses"]:
            location = operation["responses"]["201"].get("headers", {}).get("Location", {})
            if operation["operationId"] != "mapUnmatched":  # a mapping has no resource of its own to read
                assert location.get("required") is True, where


@pytest.mark.parametrize("name", SERVICES)
def test_lists_document_their_paging(name):
    document = openapi(name)
    for path, method, operation, parameters in _operations(name):
        if not operation["operationId"].startswith("list"):
            continue
        params = {p["name"]: p for p in parameters}
        limit = params["limit"]["schema"]
        assert limit["minimum"] == 1 and limit["maximum"] and limit["default"], path
        assert "cursor" in params or "after" in params, path
        page = _resolve(document, operation["responses"]["200"]["content"]["application/json"]["schema"])
        fields = {key for part in page.get("allOf", [page]) for key in _resolve(document, part).get("properties", {})}
        assert {"next_cursor"} <= fields or {"next_after"} <= fields, path


def test_the_problem_catalogue_lists_every_kind_the_services_answer():
    catalogue = (REPO / "docs/problems.md").read_text()
    assert PROBLEM_TYPE_BASE in catalogue
    listed = dict(re.findall(r"^\| `([a-z-]+)` \| (\d{3}) \|", catalogue, re.MULTILINE))
    assert listed == {kind: str(status) for status, kind in PROBLEM_KINDS.items()}


def test_the_readme_links_every_document():
    readme = (REPO / "README.md").read_text()
    for name in SERVICES:
        relative = openapi_path(name).resolve().relative_to(REPO)
        assert f"]({relative})" in readme, relative
