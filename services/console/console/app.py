"""Bootstrap: the console's settings, session cookie, templates, static files and routes.

No database and no broker: every page is built from the scheduler, attendance and billing APIs,
called with the signed-in user's token (console.clients)."""
from __future__ import annotations

from pathlib import Path

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import get_session, session_middleware
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from academy_common.http import create_app, token_digests
from academy_common.service import Service
from academy_common.settings import load_settings
from console import formats
from console.errors import error_pages
from console.routes import routes
from console.settings import Settings
from console.signin import DIGESTS_KEY, USER, csrf_token, guard
from console.usecases import HTTP_KEY, SETTINGS_KEY

HERE = Path(__file__).parent
COOKIE = "academy_console"


def build(settings: Settings | None = None) -> Service:
    settings = settings or load_settings(Settings)
    return Service(settings, name="console", schema=None, routes=routes, uses_bus=False, app_factory=console_app)


def console_app(service: Service) -> web.Application:
    settings: Settings = service.settings
    storage = EncryptedCookieStorage(Fernet(settings.console_session_key or Fernet.generate_key()), cookie_name=COOKIE,
                                     max_age=settings.console_session_max_age_s, httponly=True,
                                     samesite="Strict", secure=settings.console_cookie_secure)
    app = create_app(tokens={}, ready=service.ready, routes=service.routes, bearer_auth=False,
                     middlewares=(session_middleware(storage), error_pages, guard()))
    app[DIGESTS_KEY] = token_digests(settings.api_tokens)
    app[SETTINGS_KEY] = settings
    environment = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                       context_processors=[_page_context])
    formats.install(environment, settings.timezone)
    app.router.add_static("/static", HERE / "static")
    app.cleanup_ctx.append(_http_client)
    return app


async def _page_context(request: web.Request) -> dict:
    return {"user": request.get(USER), "csrf": csrf_token(await get_session(request))}


async def _http_client(app: web.Application):
    async with aiohttp.ClientSession() as http:
        app[HTTP_KEY] = http
        yield
