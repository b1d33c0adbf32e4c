"""People API v1: ``people.get`` and ``people.getBatchGet`` (what email lookup needs)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .errors import RPC_CODE_BY_STATUS, invalid_argument, not_found
from .middleware import google_method
from .params import get_all, get_param
from .resources import PERSON_FIELDS
from .state import STATE_KEY, EmulatorState

_PARAMS = ("personFields", "requestMask.includeField", "sources")
_DOCS = "Valid paths are documented at https://developers.google.com/people/api/rest/v1/people/get."
MAX_BATCH = 200


def _person_fields(request: web.Request) -> frozenset[str]:
    raw = get_param(request, "personFields")
    if raw is None:
        mask = get_param(request, "requestMask.includeField")
        raw = ",".join(p.strip().removeprefix("person.") for p in mask.split(",")) if mask else None
    if raw is None or not raw.strip():
        raise invalid_argument(f"personFields mask is required. Please specify one or more valid paths. {_DOCS}")
    fields = [f.strip() for f in raw.split(",") if f.strip()]
    for name in fields:
        if name not in PERSON_FIELDS:
            raise invalid_argument(f'Invalid personFields mask path: "{name}". {_DOCS}')
    return frozenset(fields)


def _person_id(resource_name: str) -> str:
    if not resource_name.startswith("people/") or not resource_name[len("people/"):]:
        raise invalid_argument(f'Resource name "{resource_name}" is not a valid resource name. Must start with "people/".')
    return resource_name[len("people/"):]


@google_method("people.get", params=_PARAMS, bucket="people")
async def get_person(request: web.Request) -> web.Response:
    state: EmulatorState = request.app[STATE_KEY]
    fields = _person_fields(request)
    person = state.world.people.get(request.match_info["person"])
    if person is None:
        raise not_found()
    return web.json_response(state.renderer.person(person, fields))


@google_method("people.getBatchGet", params=("resourceNames", *_PARAMS), bucket="people")
async def batch_get_people(request: web.Request) -> web.Response:
    state: EmulatorState = request.app[STATE_KEY]
    names = get_all(request, "resourceNames")
    if not names:
        raise invalid_argument("resourceNames is required.")
    if len(names) > MAX_BATCH:
        raise invalid_argument(f"Too many resourceNames: {len(names)} (at most {MAX_BATCH}).")
    fields = _person_fields(request)
    responses: list[dict[str, Any]] = []
    for name in names:
        person = state.world.people.get(_person_id(name))
        if person is None:
            error = not_found()
            responses.append(
                {
                    "requestedResourceName": name,
                    "httpStatusCode": 404,
                    "status": {"code": RPC_CODE_BY_STATUS[error.status], "message": error.message},
                }
            )
        else:
            responses.append(
                {
                    "requestedResourceName": name,
                    "httpStatusCode": 200,
                    "person": state.renderer.person(person, fields),
                    "status": {},
                }
            )
    return web.json_response({"responses": responses})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/people:batchGet", batch_get_people)
    app.router.add_get("/v1/people/{person:[^/:]+}", get_person)
