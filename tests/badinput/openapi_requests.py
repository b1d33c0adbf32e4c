"""Requests generated from an OpenAPI document: schema-valid values mixed with hostile ones.

An `Operation` is one (method, path) of the document; `requests(op)` is a hypothesis strategy of
`Request`s for it: path ids in and far out of range, query values from the parameter schemas or
junk, bodies valid by the schema (hypothesis-jsonschema), of the wrong shape, or not JSON at all.
"""
from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

PUBLIC = {"/healthz", "/readyz", "/metrics", "/openapi.yaml"}
METHODS = ("get", "post", "put", "patch", "delete")

HOSTILE_TEXT = st.sampled_from([
    "'; DROP TABLE teachers; --", "1 OR 1=1", "1; SELECT pg_sleep(10)", "\" OR \"\"=\"", "%00", "\x00",
    "‮evil‭", "👩‍👩‍👧‍👦" * 50, "e\u0301\u0301\u0301", "x" * 10_000, "", " ", "null", "NaN", "-1", "0",
    "1e309", str(2**63), str(-2**63 - 1), "2026-13-45T99:00:00Z", "2026-11-25T10:00:00", "2026-11-25T10:00:00+25:00",
    "../../etc/passwd", "<script>alert(1)</script>", "${jndi:ldap://x}", "true", "[]", "{}",
])
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30), HOSTILE_TEXT)
ANY_JSON = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict
    doc: dict = field(repr=False)

    @property
    def secured(self) -> bool:
        return bool(self.spec.get("security", self.doc.get("security", [])))

    @property
    def parameters(self) -> list[dict]:
        common = self.doc["paths"][self.path].get("parameters", [])
        return [inline(p, self.doc) for p in [*common, *self.spec.get("parameters", [])]]

    @property
    def body_schema(self) -> dict | None:
        body = inline(self.spec.get("requestBody", {}), self.doc)
        return body.get("content", {}).get("application/json", {}).get("schema")

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes | None
    content_type: str | None

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        return f"{self.method} {self.path}?{urllib.parse.urlencode(self.query)} [{self.content_type}] {self.body!r:.300}"


def operations(doc: dict) -> list[Operation]:
    return [Operation(method, path, spec, doc) for path, item in doc["paths"].items()
            for method, spec in item.items() if method in METHODS]


def inline(node: Any, doc: dict) -> Any:
    """The node with every local $ref replaced by what it points to (the documents have no cycles)."""
    if isinstance(node, list):
        return [inline(n, doc) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return inline({**target, **{k: v for k, v in node.items() if k != "$ref"}}, doc)
    return {k: inline(v, doc) for k, v in node.items()}


def _as_query_text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _path_value(parameter: dict) -> st.SearchStrategy[str]:
    schema = parameter.get("schema", {})
    valid = from_schema(schema).map(_as_query_text)
    if schema.get("type") == "integer":
        valid = st.integers(min_value=1, max_value=5).map(str)  # ids that may exist
    junk = st.one_of(HOSTILE_TEXT, st.integers(min_value=-2**70, max_value=2**70).map(str), st.text(max_size=20))
    return st.one_of(valid, junk).map(lambda v: urllib.parse.quote(v, safe="") or "%20")


def _query_value(parameter: dict) -> st.SearchStrategy[str | None]:
    schema = parameter.get("schema", {"type": "string"})
    return st.one_of(st.none(), from_schema(schema).map(_as_query_text), HOSTILE_TEXT,
                     st.text(max_size=20).filter(lambda s: "\x00" not in s))


def _body(schema: dict | None, doc: dict) -> st.SearchStrategy[tuple[bytes | None, str | None]]:
    if schema is None:
        return st.just((None, None))
    resolved = inline(schema, doc)
    as_json = st.one_of(from_schema(resolved), ANY_JSON, _wrong_field_types(resolved)).map(
        lambda value: (json.dumps(value).encode(), "application/json"))
    not_json = st.sampled_from([(b"{not json", "application/json"), (b"", "application/json"),
                                (b"name=x&email=y", "application/x-www-form-urlencoded"),
                                (b"\xff\xfe\x00", "application/json"), ("{\"name\": \"x\"}".encode(), "text/plain"),
                                (b'{"a": 1e309, "b": NaN}', "application/json")])
    return st.one_of(as_json, as_json, not_json)


def _wrong_field_types(schema: dict) -> st.SearchStrategy[dict]:
    """An object with the schema's field names and values of any type."""
    names = sorted(schema.get("properties", {})) or ["x"]
    return st.dictionaries(st.sampled_from(names), JSON_SCALARS, max_size=len(names))


@st.composite
def requests(draw: st.DrawFn, op: Operation) -> Request:
    path = op.path
    query: dict[str, str] = {}
    for parameter in op.parameters:
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", draw(_path_value(parameter)))
        elif parameter["in"] == "query":
            value = draw(_query_value(parameter))
            if value is not None:
                query[parameter["name"]] = value
    body, content_type = draw(_body(op.body_schema, op.doc))
    return Request(op.method.upper(), path, query, body, content_type)
