"""aiohttp app helpers: bearer auth with roles, problem+json errors, health, metrics, OpenAPI, /docs."""
from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, ValidationError, model_validator

from academy_common.events import Instant
from academy_common.settings import Principal

log = structlog.get_logger(__name__)

PROBLEM_TYPE = "application/problem+json"
SWAGGER_UI = Path(__file__).with_name("swagger_ui")
# What /docs (the API reference page) loads: the vendored Swagger UI files (swagger_ui/README.md).
DOCS_ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css", "init.js": "text/javascript"}
PUBLIC_PATHS = {"/healthz", "/readyz", "/metrics", "/openapi.yaml", "/docs", *(f"/docs/{name}" for name in DOCS_ASSETS)}
# Every problem's `type` is one of these tag URIs (RFC 4151), one per kind of error; docs/problems.md
# is the catalogue. Tag URIs name a kind without promising a page to dereference.
PROBLEM_TYPE_BASE = "tag:academy.example,2026:problems/"
PROBLEM_KINDS = {400: "malformed-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
                 405: "method-not-allowed", 409: "conflict", 413: "payload-too-large",
                 415: "unsupported-media-type", 422: "invalid-request", 500: "internal-error",
                 502: "upstream-refused", 503: "upstream-unavailable"}
MAX_BODY_BYTES = 1024 * 1024
# /readyz answers from a check at most this old: probes and scrapers hitting it unauthenticated
# cost at most one database connection per interval, however often they call.
READY_CACHE_S = 1.0
TOKENS_KEY = web.AppKey("token_digests", list)
READY_KEY = web.AppKey("ready_check", object)
ROLE = web.RequestKey("role", str)
ACTOR = web.RequestKey("actor", str)  # who acts, for audit rows: `admin:alice`, or the bare role

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["method", "route"])

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Problem(Exception):
    """An RFC 9457 problem: raise it from a handler to answer with application/problem+json."""

    def __init__(self, status: int, title: str, detail: str | None = None, **extra: Any):
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra

    def response(self, headers: dict[str, str] | None = None) -> web.Response:
        kind = PROBLEM_KINDS.get(self.status)
        body = {"type": PROBLEM_TYPE_BASE + kind if kind else "about:blank", "title": self.title,
                "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extra)
        return web.Response(status=self.status, text=json.dumps(body, default=str), content_type=PROBLEM_TYPE,
                            headers=headers)


def json_response(data: Any, status: int = 200, location: str | None = None) -> web.Response:
    """`data` as JSON; `location` (the URI of what a 201 created) becomes the Location header."""
    headers = {"Location": location} if location else None
    return web.Response(status=status, text=json.dumps(data, default=str), content_type="application/json",
                        headers=headers)


def requires(*roles: str) -> Callable[[Handler], Handler]:
    """Allow the listed roles (admin is always allowed) on a route handler."""
    allowed = {"admin", *roles}

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            if request.get(ROLE) not in allowed:
                raise Problem(403, "Forbidden", f"this needs one of the roles: {', '.join(sorted(allowed))}")
            return await handler(request)

        return wrapped

    return decorate


def _integral(value: Any) -> Any:
    """JSON has one number type: 3.0 is the integer 3 (as JSON Schema says); 3.5, "3" and true are not."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# An integer in a JSON body: strict (no "3", no true), but 3.0 counts.
JsonInt = Annotated[int, BeforeValidator(_integral), Strict()]


class JsonBody(BaseModel):
    """A request body: unknown fields are refused, and an optional field is left out, never sent as
    null (the documents give such fields no null; a PATCH would otherwise read null as "unchanged")."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = sorted(str(key) for key, value in data.items() if value is None)
            if nulls:
                raise ValueError(f"leave {', '.join(nulls)} out rather than sending null")
        return data


def _validation_problem(exc: ValidationError) -> Problem:
    errors = [
        {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]
    first = errors[0] if errors else {"field": "", "message": "invalid"}
    return Problem(422, "Unprocessable Content", f"{first['field']}: {first['message']}", errors=errors)


async def read_json(request: web.Request, model: type[M]) -> M:
    """The request body as `model`: 415 unless sent as JSON, 400 when it is not JSON, 422 when
    it does not validate.

    The bytes are read as JSON's own encodings (UTF-8, or 16/32), whatever charset the Content-Type
    names; ValueError covers bad syntax, bad bytes and numbers too long to convert.
    """
    if not _is_json(request.content_type):
        raise Problem(415, "Unsupported Media Type",
                      f"send the body as application/json, not {request.content_type}")
    try:
        raw = json.loads(await request.read())
    except (ValueError, RecursionError):
        raise Problem(400, "Bad Request", "the request body is not valid JSON") from None
    _refuse_unstorable(raw)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise _validation_problem(exc) from None


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


class StartRange(BaseModel):
    """The `from` / `to` query parameters of a list: scheduled start in [from, to), both optional."""

    model_config = ConfigDict(populate_by_name=True)

    start_from: Instant | None = Field(default=None, alias="from")
    start_to: Instant | None = Field(default=None, alias="to")

    @model_validator(mode="after")
    def _range(self):
        if self.start_from and self.start_to and self.start_to <= self.start_from:
            raise ValueError("'to' must be after 'from'")
        return self


def read_query(request: web.Request, model: type[M]) -> M:
    """The query string as `model`: 422 on bad values and on parameters the model does not name (a
    misspelt `limt=5` would otherwise be ignored without a word)."""
    query = dict(request.query)
    _refuse_unstorable(query)
    unknown = sorted(set(query) - {field.alias or name for name, field in model.model_fields.items()})
    if unknown:
        raise Problem(422, "Unprocessable Content", f"unknown query parameters: {', '.join(map(repr, unknown))}")
    try:
        return model.model_validate(query)
    except ValidationError as exc:
        raise _validation_problem(exc) from None


def _refuse_unstorable(value: Any, where: str = "") -> None:
    """PostgreSQL text cannot hold NUL, nor UTF-8 a lone surrogate (JSON's "\\ud800"): refuse them at
    the edge (422), not as a database error."""
    if isinstance(value, str):
        if "\x00" in value:
            raise Problem(422, "Unprocessable Content", f"{where or 'value'}: NUL characters are not allowed")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise Problem(422, "Unprocessable Content",
                              f"{where or 'value'}: lone surrogate characters are not allowed") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_unstorable(key, where)
            _refuse_unstorable(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_unstorable(item, f"{where}[{index}]")


def path_int(request: web.Request, name: str) -> int:
    """A positive 64-bit id in ASCII digits (int() alone would also take "+1", " 1", "1_0" and "١")."""
    raw = request.match_info[name]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19 and 0 < int(raw) < 2**63):
        raise Problem(404, "Not Found", f"{name} {raw!r} is not an id")
    return int(raw)


@web.middleware
async def _problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except Problem as problem:
        status = problem.status
        return problem.response()
    except web.HTTPException as exc:
        status = exc.status
        if exc.status < 400:
            raise
        detail = exc.text if exc.text and exc.text != f"{exc.status}: {exc.reason}" else None
        # RFC 9110: a 405 names the methods the resource allows (aiohttp puts them in Allow)
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return Problem(exc.status, exc.reason, detail).response(allow)
    except ValidationError as exc:
        problem = _validation_problem(exc)
        status = problem.status
        return problem.response()
    except Exception:
        log.exception("unhandled error", method=request.method, path=request.path)
        return Problem(500, "Internal Server Error", "the error was logged").response()
    finally:
        elapsed = time.perf_counter() - started
        REQUESTS.labels(request.method, route, str(status)).inc()
        LATENCY.labels(request.method, route).observe(elapsed)
        if request.path not in PUBLIC_PATHS:
            log.info("http", method=request.method, path=request.path, status=status, ms=round(elapsed * 1000, 1))


@web.middleware
async def _auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC_PATHS or request.method == "OPTIONS":
        return await handler(request)
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    principal = principal_of(request.app[TOKENS_KEY], token.strip()) if scheme.lower() == "bearer" else None
    if principal is None:
        problem = Problem(401, "Unauthorized", "send Authorization: Bearer <token>")
        response = problem.response()
        response.headers["WWW-Authenticate"] = 'Bearer realm="academy"'
        return response
    request[ROLE], request[ACTOR] = principal.role, principal.actor
    return await handler(request)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def token_digests(tokens: dict[str, Principal]) -> list[tuple[bytes, Principal]]:
    """What `principal_of` compares against: the tokens are kept only as digests."""
    return [(_digest(token), principal) for token, principal in tokens.items()]


def principal_of(digests: list[tuple[bytes, Principal]], presented: str) -> Principal | None:
    """The token's principal, compared in constant time: equal-length digests, every token tried."""
    wanted, found = _digest(presented), None
    for digest, principal in digests:
        if hmac.compare_digest(digest, wanted):
            found = principal
    return found


class CachedCheck:
    """`check()` run at most once per `max_age_s`; callers arriving while it runs share that run."""

    def __init__(self, check: Callable[[], Awaitable[dict[str, bool]]], max_age_s: float = READY_CACHE_S,
                 clock: Callable[[], float] = time.monotonic):
        self._check, self._max_age_s, self._clock = check, max_age_s, clock
        self._result: dict[str, bool] | None = None
        self._taken_at = 0.0
        self._running: asyncio.Future[dict[str, bool]] | None = None

    async def __call__(self) -> dict[str, bool]:
        if self._result is not None and self._clock() - self._taken_at < self._max_age_s:
            return self._result
        if self._running is None:
            self._running = asyncio.ensure_future(self._refresh())
        # shield: a caller that goes away must not cancel the run the others wait for
        return await asyncio.shield(self._running)

    async def _refresh(self) -> dict[str, bool]:
        try:
            result = await self._check()
            self._result, self._taken_at = result, self._clock()
            return result
        finally:
            self._running = None


def create_app(
    *,
    tokens: dict[str, Principal],
    ready: Callable[[], Awaitable[dict[str, bool]]],
    routes: web.RouteTableDef | None = None,
    openapi: Path | None = None,
    bearer_auth: bool = True,
    middlewares: tuple[Callable, ...] = (),
) -> web.Application:
    """The app with /healthz, /readyz, /metrics and problem+json errors. `bearer_auth=False` is for an app
    that authenticates in its own `middlewares` (the console's session); they run inside the error one."""
    # A request line as long as a body may be still reaches the app, which answers with a problem;
    # past aiohttp's default (8190 bytes) its parser would answer a bare text/plain 400 itself.
    auth = [_auth] if bearer_auth else []
    app = web.Application(middlewares=[_problems, *auth, *middlewares], client_max_size=MAX_BODY_BYTES,
                          handler_args={"max_line_size": MAX_BODY_BYTES})
    app[TOKENS_KEY] = token_digests(tokens)
    app[READY_KEY] = cached_ready = CachedCheck(ready)

    async def healthz(_: web.Request) -> web.Response:
        return json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        checks = await cached_ready()
        ok = all(checks.values())
        return json_response({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)

    async def metrics(_: web.Request) -> web.Response:
        response = web.Response(body=generate_latest())
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return response

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    if openapi is not None:
        document = openapi.read_text()

        async def openapi_document(_: web.Request) -> web.Response:
            return web.Response(text=document, content_type="application/yaml")

        app.router.add_get("/openapi.yaml", openapi_document)
        _add_docs(app)
    if routes is not None:
        app.router.add_routes(routes)
    return app


def _add_docs(app: web.Application) -> None:
    """/docs: Swagger UI on the service's /openapi.yaml, from the vendored files only."""
    page = (SWAGGER_UI / "index.html").read_text()

    async def docs(_: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app.router.add_get("/docs", docs)
    for name, media_type in DOCS_ASSETS.items():
        app.router.add_get(f"/docs/{name}", _asset(SWAGGER_UI / name, media_type))


def _asset(path: Path, media_type: str) -> Handler:
    body = _read_asset(path)

    async def serve(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type=media_type, headers={"Cache-Control": "public, max-age=86400"})

    return serve


@functools.cache
def _read_asset(path: Path) -> bytes:  # read once per process, however many apps serve it
    return path.read_bytes()
