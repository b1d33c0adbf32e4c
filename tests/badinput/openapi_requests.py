"""Requests generated from an OpenAPI document: schema-valid values mixed with hostile ones.

An `Operation` is one (method, path) of the document; `requests(op)` is a hypothesis strategy of
`Request`s for it: path ids in and far out of range, query and header values from the parameter
schemas (and their documented examples) or junk, bodies valid by the schema (hypothesis-jsonschema),
of the wrong shape, or not JSON at all.
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
    "\u202eevil\u202d", "\U0001F469\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466" * 50, "e\u0301\u0301\u0301",
    "x" * 10_000, "", " ", "null", "NaN", "-1", "0",
    "1e309", str(2**63), str(-2**63 - 1), "2026-13-45T99:00:00Z", "2026-11-25T10:00:00", "2026-11-25T10:00:00+25:00",
    "../../etc/passwd", "<script>alert(1)</script>", "${jndi:ldap://x}", "true", "[]", "{}",
    "0001-01-01", "9999-12-31", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",  # no UTC datetime
    "١", "٢٠٢٦-١٠", "+1", " 1", "0_1",  # what int() reads, but is no id
])
LONE_SURROGATES = st.sampled_from(["\ud800", "a\udfff@school.org"])  # JSON can carry them, UTF-8 cannot
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30), HOSTILE_TEXT,
                         LONE_SURROGATES)
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
    headers: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        headers = "".join(f" {name}: {value!r}" for name, value in self.headers.items())
        return (f"{self.method} {self.path}?{urllib.parse.urlencode(self.query)}{headers}"
                f" [{self.content_type}] {self.body!r:.300}")


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


def _with_examples(schema: Any) -> Any:
    """The schema with its documented `examples` drawn as often as anything else it allows (a random
    string is rarely a valid period or effective date)."""
    if isinstance(schema, list):
        return [_with_examples(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    inner = {k: _with_examples(v) for k, v in schema.items() if k != "examples"}
    examples = schema.get("examples")
    return {"anyOf": [inner, {"enum": examples}]} if isinstance(examples, list) and examples else inner


def _from_schema(schema: dict) -> st.SearchStrategy[Any]:
    """Values valid by the schema: hypothesis-jsonschema, except for objects, built here because its
    object strategy calls a hypothesis internal (`many.more()`) that hypothesis 6.170 no longer has."""
    if "anyOf" in schema:
        return st.one_of(*(_from_schema(option) for option in schema["anyOf"]))
    if schema.get("type") == "object" or "properties" in schema:
        return _object(schema)
    return from_schema(schema)


@st.composite
def _object(draw: st.DrawFn, schema: dict) -> dict:
    """The required properties and some optional ones (at least minProperties), no others."""
    properties, required = schema.get("properties", {}), schema.get("required", [])
    optional = sorted(set(properties) - set(required))
    at_least = min(len(optional), max(0, schema.get("minProperties", 0) - len(required)))
    chosen = draw(st.lists(st.sampled_from(optional), min_size=at_least, unique=True)) if optional else []
    return {name: draw(_from_schema(properties[name])) for name in [*required, *chosen]}


def _as_query_text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


def _path_value(parameter: dict) -> st.SearchStrategy[str]:
    schema = parameter.get("schema", {})
    valid = _from_schema(_with_examples(schema)).map(_as_query_text)
    if schema.get("type") == "integer":
        valid = st.integers(min_value=1, max_value=5).map(str)  # ids that may exist
    junk = st.one_of(HOSTILE_TEXT, st.integers(min_value=-2**70, max_value=2**70).map(str), st.text(max_size=20))
    return st.one_of(valid, junk).map(lambda v: urllib.parse.quote(v, safe="") or "%20")


def _query_value(parameter: dict) -> st.SearchStrategy[str | None]:
    schema = parameter.get("schema", {"type": "string"})
    return st.one_of(st.none(), _from_schema(_with_examples(schema)).map(_as_query_text), HOSTILE_TEXT,
                     st.text(max_size=20).filter(lambda s: "\x00" not in s))


def _header_value(parameter: dict) -> st.SearchStrategy[str | None]:
    """Documented examples or any visible ASCII (what an HTTP client can send at all)."""
    examples = parameter.get("schema", {}).get("examples", [])
    visible = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
    return st.one_of(st.none(), *([st.sampled_from(examples)] if examples else []), visible)


def _body(schema: dict | None, doc: dict) -> st.SearchStrategy[tuple[bytes | None, str | None]]:
    if schema is None:
        return st.just((None, None))
    resolved = _with_examples(inline(schema, doc))
    as_json = st.one_of(_from_schema(resolved), ANY_JSON, _wrong_field_types(resolved)).map(
        lambda value: (json.dumps(value).encode(), "application/json"))
    not_json = st.sampled_from([(b"{not json", "application/json"), (b"", "application/json"),
                                (b"name=x&email=y", "application/x-www-form-urlencoded"),
                                (b"\xff\xfe\x00", "application/json"), (b"{\"name\": \"x\"}", "text/plain"),
                                (b'{"a": 1e309, "b": NaN}', "application/json"),
                                (b"1" * 5000, "application/json"),  # more digits than int() converts
                                (b'{"name": "x"}', "application/json; charset=bogus")])
    return st.one_of(as_json, as_json, not_json)


def _wrong_field_types(schema: dict) -> st.SearchStrategy[dict]:
    """An object with the schema's field names and values of any type."""
    names = sorted(schema.get("properties", {})) or ["x"]
    return st.dictionaries(st.sampled_from(names), JSON_SCALARS, max_size=len(names))


@st.composite
def requests(draw: st.DrawFn, op: Operation) -> Request:
    path = op.path
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    for parameter in op.parameters:
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", draw(_path_value(parameter)))
        elif parameter["in"] == "query":
            value = draw(_query_value(parameter))
            if value is not None:
                query[parameter["name"]] = value
        elif parameter["in"] == "header":
            value = draw(_header_value(parameter))
            if value is not None:
                headers[parameter["name"]] = value
    body, content_type = draw(_body(op.body_schema, op.doc))
    return Request(op.method.upper(), path, query, body, content_type, headers)
