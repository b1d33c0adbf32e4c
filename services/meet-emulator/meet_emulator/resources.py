"""Google's JSON shapes for the emulated resources (camelCase, empty fields omitted)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .model import ParticipantKind, Person, Space
from .timefmt import format_timestamp
from .visibility import ConferenceView, ParticipantView, SessionView

PERSON_FIELDS = frozenset(
    ["addresses", "ageRanges", "biographies", "birthdays", "calendarUrls", "clientData", "coverPhotos", "emailAddresses", "events", "externalIds", "genders", "imClients", "interests", "locales", "locations", "memberships", "metadata", "miscKeywords", "names", "nicknames", "occupations", "organizations", "phoneNumbers", "photos", "relations", "sipAddresses", "skills", "urls", "userDefined"]
)


@dataclass(frozen=True)
class Renderer:
    """``digits`` None renders timestamps like protobuf JSON (0/3/6 digits); 3/6/9 forces."""

    digits: int | None = None

    def ts(self, value: datetime) -> str:
        return format_timestamp(value, self.digits)

    def space(self, space: Space, active: ConferenceView | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": space.name,
            "meetingUri": space.meeting_uri,
            "meetingCode": space.meeting_code,
            "config": dict(space.config),
        }
        if active is not None:
            body["activeConference"] = {"conferenceRecord": active.name}
        return body

    def conference(self, view: ConferenceView) -> dict[str, Any]:
        body: dict[str, Any] = {"name": view.name, "startTime": self.ts(view.start)}
        if view.end is not None:
            body["endTime"] = self.ts(view.end)
        if view.expire is not None:
            body["expireTime"] = self.ts(view.expire)
        body["space"] = view.space_name
        return body

    def participant(self, view: ParticipantView) -> dict[str, Any]:
        body: dict[str, Any] = {"name": view.name}
        if view.kind is ParticipantKind.SIGNEDIN:
            body["signedinUser"] = {"user": f"users/{view.user_id}", "displayName": view.display_name}
        elif view.kind is ParticipantKind.ANONYMOUS:
            body["anonymousUser"] = {"displayName": view.display_name}
        else:
            body["phoneUser"] = {"displayName": view.display_name}
        body["earliestStartTime"] = self.ts(view.earliest_start)
        if view.latest_end is not None:
            body["latestEndTime"] = self.ts(view.latest_end)
        return body

    def session(self, view: SessionView) -> dict[str, Any]:
        body: dict[str, Any] = {"name": view.name, "startTime": self.ts(view.start)}
        if view.end is not None:
            body["endTime"] = self.ts(view.end)
        return body

    def person(self, person: Person, fields: frozenset[str]) -> dict[str, Any]:
        body: dict[str, Any] = {"resourceName": person.resource_name, "etag": _etag(person)}
        source = {"type": "DOMAIN_PROFILE", "id": person.user_id}
        if "names" in fields and person.display_name:
            body["names"] = [
                {
                    "metadata": {"primary": True, "source": source, "sourcePrimary": True},
                    "displayName": person.display_name,
                }
            ]
        emails = ([person.email] if person.email else []) + person.other_emails
        if "emailAddresses" in fields and emails:
            body["emailAddresses"] = [_email(value, source, primary=i == 0) for i, value in enumerate(emails)]
        if "metadata" in fields:
            body["metadata"] = {"sources": [{**source, "etag": _etag(person)}], "objectType": "PERSON"}
        return body


def _email(value: str, source: dict[str, str], *, primary: bool) -> dict[str, Any]:
    metadata: dict[str, Any] = {"verified": True, "source": source}
    if primary:
        metadata = {"primary": True, **metadata, "sourcePrimary": True}
    return {"metadata": metadata, "value": value}


def _etag(person: Person) -> str:
    digest = hashlib.sha256(repr((person.user_id, person.email, person.display_name, person.other_emails)).encode())
    return "%" + base64.b64encode(digest.digest()[:18]).decode()
