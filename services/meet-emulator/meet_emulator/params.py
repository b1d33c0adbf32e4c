"""Query-parameter handling shared by the Google API handlers."""

from __future__ import annotations

from aiohttp import web

from .errors import invalid_argument

# System parameters every Google API accepts (https://cloud.google.com/apis/docs/system-parameters)
SYSTEM_PARAMS = frozenset(
    {"alt", "fields", "prettyPrint", "quotaUser", "key", "access_token", "oauth_token",
     "callback", "upload_protocol", "uploadType", "$.xgafv", "userIp", "trace"}
)


def snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def check_query(request: web.Request, allowed: frozenset[str]) -> None:
    """Reject unknown parameters like Google does (camelCase and snake_case both bind)."""
    accepted = allowed | {snake(a) for a in allowed} | SYSTEM_PARAMS
    for name in request.query:
        if name not in accepted:
            raise invalid_argument(
                f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter. '
                f"Field '{name}' could not be found in request message."
            )
    alt = request.query.get("alt")
    if alt not in (None, "json"):
        raise invalid_argument(f"Unsupported alt value: {alt!r} (this emulator serves alt=json only).")


def get_param(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    return value if value is not None else request.query.get(snake(name))


def get_all(request: web.Request, name: str) -> list[str]:
    return request.query.getall(name, []) + request.query.getall(snake(name), [])


def page_size(request: web.Request, default: int, maximum: int, cap: int | None = None) -> int:
    raw = get_param(request, "pageSize")
    if raw is None or raw == "":
        size = default
    else:
        try:
            size = int(raw)
        except ValueError:
            raise invalid_argument(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"") from None
        if size < 0:
            raise invalid_argument("Page size must be non-negative.")
        size = size or default
    size = min(size, maximum)
    return min(size, cap) if cap else size


def requested_fields(request: web.Request) -> set[str] | None:
    """Top-level names of a ``fields`` partial-response mask, or None when absent."""
    raw = request.query.get("fields")
    if raw is None:
        return None
    names: set[str] = set()
    depth, current = 0, ""
    for char in raw + ",":
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            names.add(current.strip().split("/")[0])
            current = ""
            continue
        if depth == 0 and char not in "()":
            current += char
    names.discard("")
    return names


def apply_fields(body: dict, fields: set[str] | None) -> dict:
    if fields is None or "*" in fields:
        return body
    return {k: v for k, v in body.items() if k in fields}
