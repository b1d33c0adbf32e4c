"""The OpenAPI document describes every route billing serves, with auth and problem errors."""
from __future__ import annotations

import re
from pathlib import Path

import yaml
from aiohttp import web

import billing
from billing.routes import routes

DOCUMENT = yaml.safe_load((Path(billing.__file__).parent / "openapi.yaml").read_text())


def test_every_route_is_documented_with_its_method():
    app = web.Application()
    app.router.add_routes(routes)
    served = {(r.method.lower(), re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", r.resource.canonical))
              for r in app.router.routes() if r.method != "HEAD"}
    documented = {(method, path) for path, item in DOCUMENT["paths"].items() for method in item
                  if method in ("get", "put", "post", "delete", "patch")}
    assert served <= documented, served - documented


def test_bearer_auth_and_problem_errors():
    assert DOCUMENT["openapi"].startswith("3.1")
    assert DOCUMENT["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert DOCUMENT["security"] == [{"bearerAuth": []}]
    problem = DOCUMENT["components"]["responses"]["Problem"]["content"]
    assert "application/problem+json" in problem
