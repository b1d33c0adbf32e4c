"""The served OpenAPI document describes every route the scheduler serves, and nothing else."""
from __future__ import annotations

import yaml

from scheduler.app import OPENAPI, ROUTES

PUBLIC = {("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics"), ("get", "/openapi.yaml"), ("get", "/docs")}
METHODS = {"get", "post", "put", "patch", "delete"}


def _document() -> dict:
    return yaml.safe_load(OPENAPI.read_text())


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_every_route_is_documented_and_every_documented_route_served():
    document = _document()
    documented = {(m, p) for p, item in document["paths"].items() for m in item if m in METHODS}
    served = {(r.method.lower(), r.path) for r in ROUTES}
    assert documented == served | PUBLIC


def test_authenticated_routes_answer_problems_and_references_resolve():
    document = _document()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS and (method, path) not in PUBLIC:
                assert "401" in operation["responses"] and "403" in operation["responses"], (method, path)
    for ref in set(_refs(document)):
        node = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
