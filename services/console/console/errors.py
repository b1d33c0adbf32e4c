"""Every failure as a page a person can read: 403 for a role, 404, an API's problem, an API down."""
from __future__ import annotations

import aiohttp_jinja2
import structlog
from aiohttp import web

from academy_common.http import Handler
from console.clients.upstream import UpstreamError
from console.signin import Forbidden, StaleForm

log = structlog.get_logger(__name__)


def page(request: web.Request, status: int, title: str, message: str) -> web.Response:
    return aiohttp_jinja2.render_template("error.html", request, {"title": title, "message": message},
                                          status=status)


def upstream_page(request: web.Request, error: UpstreamError) -> web.Response:
    if error.status >= 500:
        title, status = f"The {error.api} service is not answering", 503 if error.status == 503 else 502
        message = (f"{error.title}. The page needs it; try again in a moment. "
                   "The rest of the console still works.")
    elif error.status in (401, 403):
        title, status = "Not allowed", 403
        message = f"The {error.api} service refused your token: {error.detail or error.title}."
    elif error.status == 404:
        title, status = "Not found", 404
        message = f"The {error.api} service has no such record: {error.detail or error.title}."
    else:
        title, status = f"The {error.api} service refused this", error.status
        message = error.detail or error.title
    return page(request, status, title, message)


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Forbidden as exc:
        return page(request, 403, "Not for your role", str(exc))
    except StaleForm as exc:
        return page(request, 403, "The form has expired", str(exc))
    except UpstreamError as exc:
        log.warning("upstream error", api=exc.api, status=exc.status, title=exc.title, path=request.path)
        return upstream_page(request, exc)
    except web.HTTPNotFound:
        return page(request, 404, "Not found", "There is no such page in the console.")
    except web.HTTPMethodNotAllowed as exc:
        response = page(request, 405, "Not allowed", f"{request.method} is not how this page is used.")
        response.headers["Allow"] = exc.headers.get("Allow", "")
        return response
