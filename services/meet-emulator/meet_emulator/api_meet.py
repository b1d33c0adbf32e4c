"""Google Meet REST API v2 handlers: spaces and conference records (read side + create)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from .errors import ApiError, invalid_argument, not_found
from .filters import CONFERENCE_RECORD_FIELDS, PARTICIPANT_FIELDS, SESSION_FIELDS, FilterError, parse_filter
from .middleware import google_method
from .model import Conference, Participant
from .pagination import SortKey, paginate
from .params import apply_fields, get_param, page_size, requested_fields
from .state import STATE_KEY, EmulatorState
from .timefmt import UTC
from .visibility import (
    ConferenceView,
    ParticipantView,
    SessionView,
    active_conference,
    conference_view,
    participant_view,
    session_views,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_LIST = ("filter", "pageSize", "pageToken")
_SPACE_KEYS = {"name", "meetingUri", "meetingCode", "config", "activeConference", "phoneAccess", "gatewaySipAccess"}
_CONFIG_ENUMS = {
    "accessType": {"ACCESS_TYPE_UNSPECIFIED", "OPEN", "TRUSTED", "RESTRICTED"},
    "entryPointAccess": {"ENTRY_POINT_ACCESS_UNSPECIFIED", "ALL", "CREATOR_APP_ONLY"},
    "moderation": {"MODERATION_UNSPECIFIED", "OFF", "ON"},
    "attendanceReportGenerationType": {"ATTENDANCE_REPORT_GENERATION_TYPE_UNSPECIFIED", "GENERATE_REPORT", "DO_NOT_GENERATE"},
}
_CONFIG_OBJECTS = {"moderationRestrictions", "artifactConfig"}


def _state(request: web.Request) -> EmulatorState:
    return request.app[STATE_KEY]


def _desc(moment: datetime, name: str) -> SortKey:
    """Sort key for newest-first listings (ties broken by name)."""
    return -((moment - _EPOCH) // _MICROSECOND), name



def _list_response(request: web.Request, body: dict[str, Any]) -> web.Response:
    return web.json_response(apply_fields(body, requested_fields(request)))


def _filter(request: web.Request, fields: dict) -> Any:
    try:
        return parse_filter(get_param(request, "filter"), fields)
    except FilterError as exc:
        raise invalid_argument(f"Invalid filter: {exc}") from None


# ---- spaces ----------------------------------------------------------------------------
@google_method("spaces.create", bucket="write")
async def create_space(request: web.Request) -> web.Response:
    body = await _json_body(request)
    unknown = set(body) - _SPACE_KEYS
    if unknown:
        raise _unknown_name(min(unknown))
    config = body.get("config") or {}
    if not isinstance(config, dict):
        raise invalid_argument('Invalid value at \'space.config\': expected an object.')
    for key, value in config.items():
        if key in _CONFIG_ENUMS:
            if value not in _CONFIG_ENUMS[key]:
                raise invalid_argument(f"Invalid value at 'space.config.{key}' (TYPE_ENUM), \"{value}\"")
        elif key not in _CONFIG_OBJECTS:
            raise _unknown_name(key, "space.config")
    config = {k: v for k, v in config.items() if not str(v).endswith("_UNSPECIFIED")}
    state = _state(request)
    space = state.world.create_space(config)
    return web.json_response(state.renderer.space(space, None))


@google_method("spaces.get")
async def get_space(request: web.Request) -> web.Response:
    state = _state(request)
    key = request.match_info["space"]
    space = state.world.find_space(key) if len(key) <= 128 else None
    if space is None:
        raise not_found()
    now = state.world.now()
    active = active_conference(list(state.world.conferences.values()), space.id, now)
    return web.json_response(state.renderer.space(space, active))


@google_method("spaces.endActiveConference", bucket="write")
async def end_active_conference(request: web.Request) -> web.Response:
    state = _state(request)
    await _json_body(request)
    space = state.world.spaces.get(request.match_info["space"])
    if space is None:
        raise not_found()
    now = state.world.now()
    active = active_conference(list(state.world.conferences.values()), space.id, now)
    if active is None:
        raise ApiError(400, "No active conference in this space.", "FAILED_PRECONDITION")
    state.world.end_conference(state.world.conferences[active.name.split("/", 1)[1]], now)
    return web.json_response({})


# ---- conference records ------------------------------------------------------------------
def _conference_fields(state: EmulatorState, view: ConferenceView) -> dict[str, Any]:
    space = state.world.spaces.get(view.space_name.split("/", 1)[1])
    return {
        "space.name": view.space_name,
        "space.meeting_code": space.meeting_code if space else None,
        "start_time": view.start,
        "end_time": view.end,
    }


@google_method("conferenceRecords.list", params=_LIST)
async def list_conference_records(request: web.Request) -> web.Response:
    state = _state(request)
    flt = _filter(request, CONFERENCE_RECORD_FIELDS)
    size = page_size(request, 25, 100, state.faults.page_size_cap)
    now = state.world.now()
    views = [v for c in state.world.conferences.values() if (v := conference_view(c, now)) is not None]
    matching = [v for v in views if flt.matches(_conference_fields(state, v))]
    context = f"conferenceRecords.list|{get_param(request, 'filter') or ''}"
    page, token = paginate(matching, lambda v: _desc(v.start, v.name), size, get_param(request, "pageToken"), context)
    body: dict[str, Any] = {}
    if page:
        body["conferenceRecords"] = [state.renderer.conference(v) for v in page]
    if token:
        body["nextPageToken"] = token
    return _list_response(request, body)


def _visible_conference(state: EmulatorState, conference_id: str) -> tuple[Conference, ConferenceView]:
    conference = state.world.conferences.get(conference_id)
    view = conference_view(conference, state.world.now()) if conference else None
    if conference is None or view is None:
        raise not_found()
    return conference, view


@google_method("conferenceRecords.get")
async def get_conference_record(request: web.Request) -> web.Response:
    state = _state(request)
    _, view = _visible_conference(state, request.match_info["conference"])
    return web.json_response(state.renderer.conference(view))


# ---- participants ------------------------------------------------------------------------
@google_method("conferenceRecords.participants.list", params=_LIST)
async def list_participants(request: web.Request) -> web.Response:
    state = _state(request)
    conference, _ = _visible_conference(state, request.match_info["conference"])
    flt = _filter(request, PARTICIPANT_FIELDS)
    size = page_size(request, 100, 250, state.faults.page_size_cap)
    now = state.world.now()
    views = [v for p in conference.participants if (v := participant_view(conference, p, now)) is not None]
    matching = [
        v for v in views if flt.matches({"earliest_start_time": v.earliest_start, "latest_end_time": v.latest_end})
    ]
    context = f"participants.list|{conference.name}|{get_param(request, 'filter') or ''}"
    page, token = paginate(
        matching, lambda v: _desc(v.earliest_start, v.name), size, get_param(request, "pageToken"), context
    )
    body: dict[str, Any] = {}
    if page:
        body["participants"] = [state.renderer.participant(v) for v in page]
    if token:
        body["nextPageToken"] = token
    fields = requested_fields(request)
    if fields is not None and "totalSize" in fields:  # Google sends it only when asked for
        body["totalSize"] = len(matching)
    return _list_response(request, body)


def _visible_participant(
    state: EmulatorState, conference_id: str, participant_id: str
) -> tuple[Conference, Participant, ParticipantView]:
    conference, _ = _visible_conference(state, conference_id)
    participant = next((p for p in conference.participants if p.id == participant_id), None)
    view = participant_view(conference, participant, state.world.now()) if participant else None
    if participant is None or view is None:
        raise not_found()
    return conference, participant, view


@google_method("conferenceRecords.participants.get")
async def get_participant(request: web.Request) -> web.Response:
    state = _state(request)
    _, _, view = _visible_participant(state, request.match_info["conference"], request.match_info["participant"])
    return web.json_response(state.renderer.participant(view))


# ---- participant sessions ----------------------------------------------------------------
@google_method("conferenceRecords.participants.participantSessions.list", params=_LIST)
async def list_participant_sessions(request: web.Request) -> web.Response:
    state = _state(request)
    conference, participant, _ = _visible_participant(
        state, request.match_info["conference"], request.match_info["participant"]
    )
    flt = _filter(request, SESSION_FIELDS)
    size = page_size(request, 100, 250, state.faults.page_size_cap)
    views = session_views(conference, participant, state.world.now())
    matching = [v for v in views if flt.matches({"start_time": v.start, "end_time": v.end})]
    context = f"participantSessions.list|{conference.participant_name(participant)}|{get_param(request, 'filter') or ''}"
    page, token = paginate(matching, lambda v: _desc(v.start, v.name), size, get_param(request, "pageToken"), context)
    body: dict[str, Any] = {}
    if page:
        body["participantSessions"] = [state.renderer.session(v) for v in page]
    if token:
        body["nextPageToken"] = token
    return _list_response(request, body)


@google_method("conferenceRecords.participants.participantSessions.get")
async def get_participant_session(request: web.Request) -> web.Response:
    state = _state(request)
    conference, participant, _ = _visible_participant(
        state, request.match_info["conference"], request.match_info["participant"]
    )
    views: list[SessionView] = session_views(conference, participant, state.world.now())
    wanted = f"{conference.participant_name(participant)}/participantSessions/{request.match_info['session']}"
    view = next((v for v in views if v.name == wanted), None)
    if view is None:
        raise not_found()
    return web.json_response(state.renderer.session(view))


# ---- helpers -----------------------------------------------------------------------------
async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.text()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise invalid_argument("Invalid JSON payload received. Unexpected token.") from None
    if not isinstance(body, dict):
        raise invalid_argument("Invalid JSON payload received. Expected an object.")
    return body


def _unknown_name(name: str, where: str = "space") -> ApiError:
    return invalid_argument(f'Invalid JSON payload received. Unknown name "{name}" at \'{where}\': Cannot find field.')


_ID = r"[^/:]+"


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/v2/spaces", create_space)
    r.add_post(f"/v2/spaces/{{space:{_ID}}}:endActiveConference", end_active_conference)
    r.add_get(f"/v2/spaces/{{space:{_ID}}}", get_space)
    r.add_get("/v2/conferenceRecords", list_conference_records)
    base = f"/v2/conferenceRecords/{{conference:{_ID}}}"
    r.add_get(base, get_conference_record)
    r.add_get(f"{base}/participants", list_participants)
    r.add_get(f"{base}/participants/{{participant:{_ID}}}", get_participant)
    r.add_get(f"{base}/participants/{{participant:{_ID}}}/participantSessions", list_participant_sessions)
    r.add_get(
        f"{base}/participants/{{participant:{_ID}}}/participantSessions/{{session:{_ID}}}", get_participant_session
    )
