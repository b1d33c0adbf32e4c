"""Who is signed in: the session cookie holds the API token (encrypted), its role and name, and the
CSRF token every form sends back. The middleware sends the signed-out to the sign-in page and
refuses an unsafe request without the session's CSRF token."""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web
from aiohttp_session import Session, get_session, new_session

from academy_common.http import Handler, principal_of
from academy_common.settings import Principal

USER = web.RequestKey("console_user", object)
DIGESTS_KEY = web.AppKey("console_token_digests", list)  # API_TOKENS, as digests
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
PUBLIC = ("/healthz", "/readyz", "/metrics", "/sign-in", "/static/")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class User:
    token: str
    role: str
    name: str | None

    @property
    def shown_as(self) -> str:
        return f"{self.name} ({self.role})" if self.name else self.role

    @property
    def sees_money(self) -> bool:
        return self.role in ("billing", "admin")

    @property
    def corrects(self) -> bool:
        return self.role == "admin"


class Forbidden(Exception):
    """The signed-in role may not see this page (rendered as the 403 page)."""


class StaleForm(Exception):
    """An unsafe request without the session's CSRF token (rendered as a 403 page)."""


def require_money(request: web.Request) -> User:
    user = request[USER]
    if not user.sees_money:
        raise Forbidden("Bills, payroll and rates are for the billing and admin roles.")
    return user


def require_admin(request: web.Request) -> User:
    user = request[USER]
    if not user.corrects:
        raise Forbidden("Corrections, mappings and the directory's changes are for the admin role.")
    return user


def csrf_token(session: Session) -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


async def sign_in(request: web.Request, digests: list, token: str) -> Principal | None:
    """A fresh session (no fixation) for a token from API_TOKENS; None for any other token."""
    principal = principal_of(digests, token.strip()) if token.strip() else None
    if principal is None:
        return None
    session = await new_session(request)
    session.update({"token": token.strip(), "role": principal.role, "name": principal.name,
                    "csrf": secrets.token_urlsafe(32)})
    return principal


async def sign_out(request: web.Request) -> None:
    (await get_session(request)).invalidate()


def guard() -> Handler:
    """The middleware: a session's token must still be among the app's API_TOKENS (DIGESTS_KEY)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        session = await get_session(request)
        if request.method not in SAFE_METHODS and not await _csrf_ok(request, session):
            raise StaleForm("The form was out of date (its security token did not match). Reload the page and "
                            "send it again.")
        if request.path.startswith(PUBLIC):
            return await handler(request)
        token = session.get("token")
        principal = principal_of(request.app[DIGESTS_KEY], token) if token else None
        if principal is None:  # signed out, expired, or the token was withdrawn from API_TOKENS
            if token:  # a signed-out visitor keeps the session: it holds the sign-in form's CSRF token
                session.invalidate()
            raise web.HTTPSeeOther(f"/sign-in?next={quote(request.path_qs, safe='')}")
        request[USER] = User(token, principal.role, principal.name)
        return await handler(request)

    return middleware


async def _csrf_ok(request: web.Request, session: Session) -> bool:
    expected = session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = (await request.post()).get(CSRF_FIELD)
    return bool(expected and isinstance(sent, str) and hmac.compare_digest(sent, expected))
