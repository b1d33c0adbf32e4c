"""Who a Meet participant is: a roster member by email or a mapping, else a guest.

Mappings: an account or email remembered for every class, or (anonymous and phone guests,
who have neither) one participant of one call mapped within one class.

Display names are never used to match: anyone can type any name into Meet.
"""
from __future__ import annotations

from collections.abc import Mapping

from attendance.model import MeetParticipant, Person, Roster


def identity_keys(participant: MeetParticipant) -> list[str]:
    """The keys a mapping can be stored under for this participant, the narrowest first."""
    keys = [participant_identity(participant.name)]
    if participant.meet_user:
        keys.append(user_identity(participant.meet_user))
    if participant.email:
        keys.append(email_identity(participant.email))
    return keys


def user_identity(meet_user: str) -> str:
    return f"user:{meet_user}"


def participant_identity(participant_name: str) -> str:
    """A participant resource name: someone in one call, so only ever mapped for one class."""
    return f"participant:{participant_name}"


def email_identity(email: str) -> str:
    return f"email:{email.lower()}"


def resolve(participant: MeetParticipant, roster: Roster, mappings: Mapping[str, str]) -> Person:
    """`mappings` is identity key → person_key. A mapping only counts when that person is on
    this class's roster: a remembered account must not put someone into a class they are not in.
    An email shared by two roster members (siblings on a parent's account) decides nothing."""
    by_email = roster.by_email(participant.email)
    if len(by_email) == 1:
        return by_email[0]
    for key in identity_keys(participant):
        member = roster.by_key(mappings.get(key, ""))
        if member is not None:
            return member
    return guest(participant)


def guest(participant: MeetParticipant) -> Person:
    if participant.meet_user:
        key = participant.meet_user
    elif participant.email:
        key = participant.email.lower()
    else:  # anonymous, phone (or a signed-in user Meet did not name): one guest per participant
        key = f"{participant.kind}:{participant.name}"
    return Person(f"guest:{key}", "guest", email=participant.email, display_name=participant.display_name,
                  participant_kind=participant.kind, meet_user=participant.meet_user)
