"""The one Google Meet REST API v2 + People API client (used by the scheduler and the meet-fetcher).

    client = MeetClient.from_settings(settings, limiter=...)   # settings: a MeetApiSettings
    space = await client.create_space(subject="ada@school.org")
    records = await client.list_conference_records(space.name, window_start, window_end, subject=...)

google-api-python-client is synchronous and httplib2 is not thread-safe, so every call runs in
a bounded thread pool on that thread's own httplib2.Http, wrapped per call in an AuthorizedHttp
for the impersonated user. Answers are validated strictly (pydantic); every failure surfaces as
MeetApiError(kind, status, message, retryable). Reads wait for the rate limiter before each
attempt; 429/5xx are retried with exponential backoff and jitter within a time budget.
"""
from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, TypeVar

import google.auth
import google.auth.exceptions
import httplib2
import structlog
from google.auth.credentials import AnonymousCredentials, Credentials
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from prometheus_client import Counter, Histogram
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_settings import BaseSettings, SettingsConfigDict
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, stop_before_delay, wait_exponential_jitter

log = structlog.get_logger(__name__)

MEET_SCOPES = (
    "https://www.googleapis.com/auth/meetings.space.created",
    "https://www.googleapis.com/auth/meetings.space.readonly",
)
PEOPLE_SCOPES = ("https://www.googleapis.com/auth/directory.readonly",)

RECORDS_PAGE_SIZE = 100
PARTICIPANTS_PAGE_SIZE = 250
SESSIONS_PAGE_SIZE = 250
# People batchGet allows 200 names, but beyond ~40 the URL passes googleapiclient's 2048-character
# limit and silently becomes a POST with a method override: keep every lookup a plain GET.
PEOPLE_BATCH = 40
MAX_PAGES = 1000

CALLS = Counter("meet_api_calls_total", "Google Meet / People API calls (every attempt)", ["method", "status"])
CALL_SECONDS = Histogram("meet_api_call_seconds", "Google Meet / People API call latency", ["method"],
                         buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
QUOTA_WAIT = Histogram("meet_quota_wait_seconds", "Time a read waited for the shared rate limiter",
                       buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))


# -- errors ---------------------------------------------------------------------------------

ErrorKind = Literal["quota", "server", "client", "not_found", "auth", "malformed"]
RETRYABLE_KINDS = frozenset({"quota", "server"})


class MeetApiError(Exception):
    """A Meet/People call that failed: `kind` says what retrying could do about it."""

    def __init__(self, kind: ErrorKind, status: int | None, message: str):
        super().__init__(f"{kind} ({status}): {message}" if status else f"{kind}: {message}")
        self.kind, self.status, self.message = kind, status, message
        self.retryable = kind in RETRYABLE_KINDS

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "status": self.status, "message": self.message}


def kind_of_status(status: int) -> ErrorKind:
    if status == 429:
        return "quota"
    if status >= 500 or status == 408:
        return "server"
    if status == 404:
        return "not_found"
    if status in (401, 403):
        return "auth"
    return "client"


def _from_http_error(exc: HttpError) -> MeetApiError:
    status = int(exc.resp.status)
    message = exc.reason if isinstance(exc.reason, str) and exc.reason else exc.content[:300].decode(errors="replace")
    return MeetApiError(kind_of_status(status), status, message)


# -- answers, validated ---------------------------------------------------------------------

_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


def parse_timestamp(value: object) -> datetime:
    """Google's RFC 3339 (up to 9 fractional digits) → aware UTC datetime, digits past µs dropped."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not an RFC 3339 timestamp: {value!r}")
    date_time, fraction, zone = match.groups()
    micros = (fraction or "").ljust(6, "0")[:6]
    offset = "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(f"{date_time}.{micros}{offset}").astimezone(UTC)


def format_timestamp(moment: datetime) -> str:
    """The form Google filters accept: UTC, 'Z', microseconds only when present."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


Timestamp = Annotated[datetime, BeforeValidator(parse_timestamp)]


class _Answer(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore")


class Space(_Answer):
    name: str = Field(pattern=r"^spaces/[^/]+$")
    meeting_code: str = Field(min_length=1)
    meeting_uri: str = Field(min_length=1)


class ConferenceRecord(_Answer):
    name: str = Field(pattern=r"^conferenceRecords/[^/]+$")
    start_time: Timestamp
    end_time: Timestamp | None = None
    space: str = Field(pattern=r"^spaces/[^/]+$")

    @model_validator(mode="after")
    def _ordered(self) -> ConferenceRecord:
        _check_order(self.start_time, self.end_time)
        return self


ParticipantKind = Literal["signedin", "anonymous", "phone"]
_IDENTITIES = {"signedinUser": "signedin", "anonymousUser": "anonymous", "phoneUser": "phone"}


class Participant(_Answer):
    name: str = Field(pattern=r"^conferenceRecords/[^/]+/participants/[^/]+$")
    kind: ParticipantKind
    user: str | None = Field(default=None, pattern=r"^users/[^/]+$")
    display_name: str | None = None
    earliest_start_time: Timestamp
    latest_end_time: Timestamp | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten_identity(cls, raw: Any) -> Any:
        """Google sends exactly one of signedinUser / anonymousUser / phoneUser."""
        if not isinstance(raw, dict) or "kind" in raw:
            return raw
        present = [key for key in _IDENTITIES if key in raw]
        if len(present) != 1:
            raise ValueError(f"a participant needs exactly one of {', '.join(_IDENTITIES)}, got {present or 'none'}")
        identity = raw[present[0]]
        if not isinstance(identity, dict):
            raise ValueError(f"{present[0]} is not an object")
        flat = {k: v for k, v in raw.items() if k not in _IDENTITIES}
        flat.update(kind=_IDENTITIES[present[0]], display_name=identity.get("displayName"))
        if present[0] == "signedinUser":
            if not identity.get("user"):
                raise ValueError("signedinUser.user is missing")
            flat["user"] = identity["user"]
        return flat

    @model_validator(mode="after")
    def _ordered(self) -> Participant:
        _check_order(self.earliest_start_time, self.latest_end_time)
        return self


class ParticipantSession(_Answer):
    name: str = Field(pattern=r"^conferenceRecords/[^/]+/participants/[^/]+/participantSessions/[^/]+$")
    start_time: Timestamp
    end_time: Timestamp | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ParticipantSession:
        _check_order(self.start_time, self.end_time)
        return self


def _check_order(start: datetime, end: datetime | None) -> None:
    if end is not None and end < start:
        raise ValueError(f"ends ({format_timestamp(end)}) before it starts ({format_timestamp(start)})")


class _Page(_Answer):
    next_page_token: str | None = None


class _RecordsPage(_Page):
    items: list[ConferenceRecord] = Field(default_factory=list, alias="conferenceRecords")


class _ParticipantsPage(_Page):
    items: list[Participant] = Field(default_factory=list, alias="participants")


class _SessionsPage(_Page):
    items: list[ParticipantSession] = Field(default_factory=list, alias="participantSessions")


class _Email(_Answer):
    value: str = Field(min_length=3)
    metadata: dict[str, Any] = Field(default_factory=dict)


class _Person(_Answer):
    email_addresses: list[_Email] = Field(default_factory=list)

    def email(self) -> str | None:
        primary = [e.value for e in self.email_addresses if e.metadata.get("primary")]
        return (primary or [e.value for e in self.email_addresses] or [None])[0]


class _PersonResponse(_Answer):
    requested_resource_name: str
    http_status_code: int | None = None
    person: _Person | None = None
    status: dict[str, Any] = Field(default_factory=dict)


class _People(_Answer):
    responses: list[_PersonResponse] = Field(default_factory=list)


A = TypeVar("A", bound=BaseModel)


def parse_answer(model: type[A], body: Any) -> A:
    """A Google answer as `model`, or MeetApiError(kind="malformed") saying what is wrong."""
    name = model.__name__.strip("_")
    if not isinstance(body, dict):  # googleapiclient hands back a body that is not JSON as text
        raise MeetApiError("malformed", None, f"{name}: answer is not a JSON object: {str(body)[:80]!r}")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise MeetApiError("malformed", None, f"{name}: {where}: {err['msg']}" if where else f"{name}: {err['msg']}") from None


# -- what the client needs from its surroundings ----------------------------------------------

class RateLimiter(Protocol):
    async def acquire(self, user: str) -> None:
        """Return when one more read for `user` fits the shared per-project and per-user limits."""


class NoRateLimit:
    async def acquire(self, user: str) -> None:
        return None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    initial_s: float = 0.5
    max_s: float = 10.0
    budget_s: float = 30.0


class CallTally:
    """How many API calls the code inside `count_calls()` made (all tasks it started included)."""

    def __init__(self) -> None:
        self.calls = 0
        self.by_method: dict[str, int] = {}

    def add(self, method: str) -> None:
        self.calls += 1
        self.by_method[method] = self.by_method.get(method, 0) + 1


_TALLY: ContextVar[CallTally | None] = ContextVar("meet_api_tally", default=None)


@contextmanager
def count_calls() -> Iterator[CallTally]:
    tally = CallTally()
    token = _TALLY.set(tally)
    try:
        yield tally
    finally:
        _TALLY.reset(token)


class MeetApiSettings(BaseSettings):
    """Mix into a service's settings: `class Settings(ServiceSettings, MeetApiSettings)`."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    meet_api_endpoint: str | None = Field(default=None, description=(
        "the Meet REST API's base URL: unset means Google (leave it unset in production); the emulator's in tests"))
    people_api_endpoint: str | None = Field(default=None, description="the same for the People API (email lookup)")
    google_credentials_file: Path | None = Field(default=None, description=(
        "a service-account key (domain-wide delegation) or a user OAuth token, see services/meet-fetcher/README.md; "
        "mounted from `academy-google-credentials` in Kubernetes"))
    meet_api_threads: int = Field(default=32, ge=1, le=512, description=(
        "threads running the blocking Google client in one replica: its Meet calls in flight"))
    meet_api_timeout_s: float = Field(default=30.0, gt=0, description="timeout of one Google API call")
    meet_api_retry_attempts: int = Field(default=5, ge=1, le=50, description="tries of a call answered 429 or 5xx")
    meet_api_retry_initial_s: float = Field(default=0.5, ge=0, description="first backoff between those tries")
    meet_api_retry_max_s: float = Field(default=10.0, ge=0, description="longest backoff")
    meet_api_retry_budget_s: float = Field(default=30.0, ge=0, description="total time one call may spend retrying")

    @field_validator("meet_api_endpoint", "people_api_endpoint", "google_credentials_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @property
    def meet_retry(self) -> RetryPolicy:
        return RetryPolicy(self.meet_api_retry_attempts, self.meet_api_retry_initial_s,
                           self.meet_api_retry_max_s, self.meet_api_retry_budget_s)


def overlap_filter(space_name: str, window_start: datetime | None, window_end: datetime | None) -> str:
    """The conferenceRecords.list filter (AIP-160) for the records of a space overlapping a window."""
    terms = [f'space.name = "{space_name}"']
    if window_end is not None:
        terms.append(f'start_time <= "{format_timestamp(window_end)}"')
    if window_start is not None:
        terms.append(f'(end_time IS NULL OR end_time >= "{format_timestamp(window_start)}")')
    return " AND ".join(terms)


# -- credentials ------------------------------------------------------------------------------

class CredentialSource:
    """Loads the credentials lazily (a migration job needs none) and caches them per subject.

    - a token file of type `authorized_user` (what `setup_google_oauth` writes): used as is;
    - a `service_account` key: impersonates `subject` (the organizer) via domain-wide delegation;
    - no file: anonymous when an endpoint is set (the emulator), else Application Default Credentials.
    """

    def __init__(self, credentials_file: Path | None, *, anonymous: bool,
                 scopes: tuple[str, ...] = MEET_SCOPES + PEOPLE_SCOPES):
        self.file, self.anonymous, self.scopes = credentials_file, anonymous, scopes
        self._lock = threading.Lock()
        self._base: Credentials | None = None
        self._delegated: dict[str, Credentials] = {}

    def for_subject(self, subject: str | None) -> Credentials:
        with self._lock:
            base = self._loaded()
            if subject is None or not isinstance(base, service_account.Credentials):
                return base
            if subject not in self._delegated:
                self._delegated[subject] = base.with_subject(subject)
            return self._delegated[subject]

    def principal(self, subject: str | None) -> str:
        """Who Google counts the per-user quota against: the impersonated organizer, else the token."""
        with self._lock:
            impersonates = isinstance(self._loaded(), service_account.Credentials)
        return subject if impersonates and subject else "default"

    def _loaded(self) -> Credentials:
        if self._base is None:
            self._base = self._load()
        return self._base

    def _load(self) -> Credentials:
        try:
            if self.file is None:
                if self.anonymous:
                    return AnonymousCredentials()
                credentials, _ = google.auth.default(scopes=list(self.scopes))
                return credentials
            info = json.loads(Path(self.file).read_text())
            if not isinstance(info, dict):
                raise ValueError("not a JSON object")
            # Credentials.to_json() (the token setup_google_oauth writes) carries no "type".
            kind = info.get("type") or ("authorized_user" if "refresh_token" in info else None)
            if kind == "authorized_user":
                return user_credentials.Credentials.from_authorized_user_info(info)
            if kind == "service_account":
                return service_account.Credentials.from_service_account_info(info, scopes=list(self.scopes))
            raise MeetApiError("auth", None, f"{self.file}: type {kind!r} is neither authorized_user nor service_account")
        except (OSError, ValueError, google.auth.exceptions.GoogleAuthError) as exc:
            raise MeetApiError("auth", None, f"cannot load Google credentials: {exc}") from None


# -- the client -------------------------------------------------------------------------------

Api = Literal["meet", "people"]
_VERSIONS = {"meet": "v2", "people": "v1"}


class MeetClient:
    def __init__(self, *, meet_endpoint: str | None = None, people_endpoint: str | None = None,
                 credentials_file: Path | None = None, threads: int = 32, timeout_s: float = 30.0,
                 retry: RetryPolicy = RetryPolicy(), limiter: RateLimiter | None = None,
                 credentials: CredentialSource | None = None):
        self.endpoints: dict[Api, str | None] = {"meet": meet_endpoint, "people": people_endpoint}
        self.credentials = credentials or CredentialSource(
            credentials_file, anonymous=bool(meet_endpoint or people_endpoint))
        self.timeout_s, self.retry = timeout_s, retry
        self.limiter: RateLimiter = limiter or NoRateLimit()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="meet-api")
        self._local = threading.local()
        self._collections: dict[str, Any] = {}
        self._build_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: MeetApiSettings, *, limiter: RateLimiter | None = None) -> MeetClient:
        return cls(meet_endpoint=settings.meet_api_endpoint, people_endpoint=settings.people_api_endpoint,
                   credentials_file=settings.google_credentials_file, threads=settings.meet_api_threads,
                   timeout_s=settings.meet_api_timeout_s, retry=settings.meet_retry, limiter=limiter)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the API ------------------------------------------------------------------------------

    async def create_space(self, *, subject: str | None = None) -> Space:
        """spaces.create: a write, so only quota errors are retried (a 5xx may have created it)."""
        return await self._call("spaces.create", {"body": {}}, Space, subject, limited=False, idempotent=False)

    async def get_space(self, name_or_code: str, *, subject: str | None = None) -> Space:
        name = name_or_code if name_or_code.startswith("spaces/") else f"spaces/{name_or_code}"
        if not re.fullmatch(r"spaces/[A-Za-z0-9_-]+", name):
            raise MeetApiError("client", None, f"{name_or_code!r} is neither spaces/ID nor a meeting code")
        return await self._call("spaces.get", {"name": name}, Space, subject)

    async def list_conference_records(self, space_name: str, window_start: datetime | None = None,
                                      window_end: datetime | None = None, *,
                                      subject: str | None = None) -> list[ConferenceRecord]:
        """Every conference record of the space that overlaps [window_start, window_end]: started
        by its end, and still running or ended at or after its start (a call opened early counts)."""
        query = overlap_filter(space_name, window_start, window_end)
        return await self._list("conferenceRecords.list", {"filter": query, "pageSize": RECORDS_PAGE_SIZE},
                                _RecordsPage, subject)

    async def list_participants(self, record_name: str, *, subject: str | None = None) -> list[Participant]:
        return await self._list("conferenceRecords.participants.list",
                                {"parent": record_name, "pageSize": PARTICIPANTS_PAGE_SIZE}, _ParticipantsPage, subject)

    async def list_sessions(self, participant_name: str, *,
                            subject: str | None = None) -> list[ParticipantSession]:
        return await self._list("conferenceRecords.participants.participantSessions.list",
                                {"parent": participant_name, "pageSize": SESSIONS_PAGE_SIZE}, _SessionsPage, subject)

    async def emails(self, user_ids: list[str], *, subject: str | None = None) -> dict[str, str | None]:
        """`users/{id}` → primary email via People batchGet (None when the directory has none)."""
        wanted = sorted(set(user_ids))
        for user in wanted:
            if not re.fullmatch(r"users/[^/]+", user):
                raise MeetApiError("client", None, f"{user!r} is not users/ID")
        found: dict[str, str | None] = {}
        for i in range(0, len(wanted), PEOPLE_BATCH):
            batch = wanted[i:i + PEOPLE_BATCH]
            names = [f"people/{u.removeprefix('users/')}" for u in batch]
            answer = await self._call("people.getBatchGet", {"resourceNames": names, "personFields": "emailAddresses"},
                                      _People, subject, limited=False)
            found.update(_emails_of(batch, names, answer))
        return found

    # -- machinery ------------------------------------------------------------------------------

    async def _list(self, method: str, params: dict[str, Any], page_model: type[_Page], subject: str | None) -> list:
        items: list = []
        token: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = await self._call(method, {**params, "pageToken": token}, page_model, subject)
            items.extend(page.items)
            token = page.next_page_token
            if not token:
                return items
            if token in seen:
                raise MeetApiError("malformed", None, f"{method}: page token {token!r} repeats")
            seen.add(token)
        raise MeetApiError("malformed", None, f"{method}: more than {MAX_PAGES} pages")

    async def _call(self, method: str, params: dict[str, Any], model: type[A], subject: str | None, *,
                    limited: bool = True, idempotent: bool = True) -> A:
        """One call of `method` (its discovery id) with retries. `limited` (Meet reads) waits for the rate limiter before
        every attempt; People has its own quota. A non-idempotent write retries only quota
        errors: a 5xx may have taken effect.
        """
        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, MeetApiError) and (exc.retryable if idempotent else exc.kind == "quota")

        policy = self.retry
        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.attempts) | stop_before_delay(policy.budget_s),
            wait=wait_exponential_jitter(multiplier=policy.initial_s, max=policy.max_s, jitter=policy.initial_s),
            retry=retry_if_exception(retryable), reraise=True,
            before_sleep=lambda state: log.warning(
                "meet api call failed, retrying", method=method, attempt=state.attempt_number,
                error=str(state.outcome.exception()) if state.outcome else None),
        )
        async for attempt in retrying:
            with attempt:
                if limited:
                    await self._wait_for_quota(subject)
                return await self._attempt(method, params, model, subject)
        raise AssertionError("unreachable: tenacity reraises")

    async def _wait_for_quota(self, subject: str | None) -> None:
        started = time.perf_counter()
        await self.limiter.acquire(self.credentials.principal(subject))
        QUOTA_WAIT.observe(time.perf_counter() - started)

    async def _attempt(self, method: str, params: dict[str, Any], model: type[A], subject: str | None) -> A:
        tally = _TALLY.get()
        if tally is not None:
            tally.add(method)
        started = time.perf_counter()
        status = "200"
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, self._execute, method, params, model, subject)
        except MeetApiError as exc:
            status = _status_label(exc)
            raise
        finally:
            CALLS.labels(method, status).inc()
            CALL_SECONDS.labels(method).observe(time.perf_counter() - started)

    def _execute(self, method: str, params: dict[str, Any], model: type[A], subject: str | None) -> A:
        """Runs in a pool thread: the blocking call on this thread's own Http, then validation."""
        http = AuthorizedHttp(self.credentials.for_subject(subject), http=self._thread_http())
        collection, verb = method.rsplit(".", 1)
        try:
            body = getattr(self._collection(collection), verb)(**params).execute(http=http, num_retries=0)
        except HttpError as exc:
            raise _from_http_error(exc) from None
        except google.auth.exceptions.RefreshError as exc:
            raise MeetApiError("auth", None, f"token refresh failed: {exc}") from None
        except (google.auth.exceptions.TransportError, httplib2.HttpLib2Error, OSError) as exc:
            raise MeetApiError("server", None, f"network: {type(exc).__name__}: {exc}") from None
        except ValueError as exc:  # e.g. a redirect httplib2 cannot follow, a body it cannot decode
            raise MeetApiError("malformed", None, f"unusable answer: {exc}") from None
        return parse_answer(model, body)

    def _thread_http(self) -> httplib2.Http:
        http = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = httplib2.Http(timeout=self.timeout_s)
        return http

    def _collection(self, path: str) -> Any:
        """The discovery resource for e.g. "conferenceRecords.participants", built once and shared.

        Built from the bundled discovery documents (no network); building a sub-resource of the
        large People document costs milliseconds, hence the cache. A resource only creates
        HttpRequest objects, so threads may share it: the Http is passed per call.
        """
        collection = self._collections.get(path)
        if collection is None:
            with self._build_lock:
                collection = self._collections.get(path)
                if collection is None:
                    api: Api = "people" if path.split(".")[0] == "people" else "meet"
                    endpoint = self.endpoints[api]
                    collection = build(api, _VERSIONS[api], credentials=self.credentials.for_subject(None),
                                       static_discovery=True, cache_discovery=False,
                                       client_options={"api_endpoint": endpoint} if endpoint else None)
                    for name in path.split("."):
                        collection = getattr(collection, name)()
                    self._collections[path] = collection
        return collection


def _status_label(error: MeetApiError) -> str:
    if error.kind == "malformed":
        return "malformed"
    if error.status is None:
        return "network" if error.kind == "server" else error.kind
    return str(error.status)


def _emails_of(users: list[str], names: list[str], answer: _People) -> dict[str, str | None]:
    by_name = {r.requested_resource_name: r for r in answer.responses}
    found: dict[str, str | None] = {}
    for user, name in zip(users, names):
        response = by_name.get(name)
        if response is None:
            raise MeetApiError("malformed", None, f"people.getBatchGet: no answer for {name}")
        status = response.http_status_code or 200
        if status == 404:
            found[user] = None
        elif status >= 400:
            message = str(response.status.get("message") or f"{name}: HTTP {status}")
            raise MeetApiError(kind_of_status(status), status, message)
        elif response.person is None:
            raise MeetApiError("malformed", None, f"people.getBatchGet: {name} has no person")
        else:
            found[user] = response.person.email()
    return found
