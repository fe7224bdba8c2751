"""The staff page's web application (aiohttp, already in the venv through Rasa): how it is put
together and what guards every request. The pages are in `views`, what they share in `shared`.

- `create_app` wires the settings, the store, accounts, sessions and the login limiter;
- `signed_in`: every page but sign-in, /health and /static needs a live session; a POST also
  needs the session's CSRF token (`sessions`), checked here once for every form;
- every response gets a strict Content-Security-Policy (no script at all, styles from this
  server only), no caching, no framing, no referrer;
- database calls and argon2 run on a thread (`blocking`), so one slow query never stalls the page;
- a database that is down gives a 503 page naming no data; the log names the error class only;
- the access log has method, path (no query string), status and time: no names, contacts or text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import AsyncIterator, Awaitable, Callable, Optional

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.consultations.repository import ConsultationStoreUnavailable
from bot.staff_page import views
from bot.staff_page.auth import Accounts
from bot.staff_page.config import StaffPageSettings
from bot.staff_page.ratelimit import LoginRateLimiter
from bot.staff_page.sessions import SESSION_COOKIE, Sessions
from bot.staff_page.shared import PACKAGE_DIR, SERVICES, Services, blocking, render, services, templates
from bot.staff_page.store import StaffStore

logger = logging.getLogger(__name__)

PUBLIC_PATHS = ("/login", "/health", "/favicon.ico")
HOUSEKEEPING_SECONDS = 3600.0  # expired sessions and orphaned statuses are removed this often
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def create_app(
    settings: StaffPageSettings,
    engine: Engine,
    tracker_engine: Engine,
    *,
    accounts: Optional[Accounts] = None,
    sessions: Optional[Sessions] = None,
    limiter: Optional[LoginRateLimiter] = None,
) -> web.Application:
    """The application; `accounts`, `sessions` and `limiter` are given by tests (a cheaper hasher,
    a clock, lower limits), else built from `settings`."""
    services = Services(
        settings,
        StaffStore(engine, tracker_engine),
        accounts or Accounts(engine),
        sessions or Sessions(engine, settings.secret),
        limiter or LoginRateLimiter(),
        templates(settings),
    )
    app = web.Application(middlewares=[database_errors, signed_in])
    app[SERVICES] = services
    # aiohttp 3.9 writes Signal[Callable[...]], but aiosignal 1.4's Signal takes the argument types.
    app.on_response_prepare.append(_security_headers)  # type: ignore[arg-type]
    app.cleanup_ctx.append(_housekeeping)
    views.add_routes(app)
    app.router.add_static("/static", PACKAGE_DIR / "static")
    return app


# --------------------------------------------------------------------------- middlewares


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def database_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except (ConsultationStoreUnavailable, SQLAlchemyError) as error:
        logger.error(
            "Staff page: database unavailable for %s %s (%s).", request.method, request.path, type(error).__name__
        )  # the class only: SQLAlchemy's message quotes parameters
        return render(
            request,
            "error.html",
            code=503,
            title="Database unavailable",
            message="The database is not reachable right now. Nothing was changed. Try again in a minute.",
        )


@web.middleware
async def signed_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the signed-in account (request["user"]) and its CSRF token; refuse the rest."""
    if request.path in PUBLIC_PATHS or request.path.startswith("/static/"):
        return await handler(request)
    token = request.cookies.get(SESSION_COOKIE)
    found = services(request).sessions
    user = await blocking(found.find, token)
    if user is None or token is None:
        if request.method in ("GET", "HEAD"):
            target = request.path_qs if request.path != "/" else "/requests"
            raise web.HTTPSeeOther(location=str(request.app.router["login"].url_for().with_query(next=target)))
        return render(
            request,
            "error.html",
            code=403,
            title="Signed out",
            message="Your session has ended. Sign in again; nothing was changed.",
        )
    request["user"], request["session_token"] = user, token
    request["csrf"] = found.csrf_token(token)
    if request.method == "POST":
        form = await request.post()
        if not found.csrf_ok(token, str(form.get("csrf_token", ""))):
            logger.warning("Staff page: a form without a valid CSRF token was refused (%s).", request.path)
            return render(
                request,
                "error.html",
                code=403,
                title="Form expired",
                message="This form is out of date or did not come from this page. "
                "Go back, reload the page and try again; nothing was changed.",
            )
    return await handler(request)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if not request.path.startswith("/static/"):
        headers["Cache-Control"] = "no-store"  # personal data never stays in a browser's or proxy's cache


async def _housekeeping(app: web.Application) -> AsyncIterator[None]:
    """Create the tables at start (later, when the database is down then), and every hour remove
    expired sessions and statuses of requests deleted elsewhere."""
    service = app[SERVICES]

    async def loop() -> None:
        while True:
            try:
                await blocking(service.store.create_tables)
                expired = await blocking(service.sessions.purge_expired)
                orphans = await blocking(service.store.forget_orphans)
                if expired or orphans:
                    logger.info(
                        "Staff page housekeeping: %d expired session(s), %d orphaned status change(s) removed.",
                        expired,
                        orphans,
                    )
            except Exception as error:  # noqa: BLE001 - retried at the next round; the page keeps serving
                logger.error("Staff page housekeeping failed (%s); retrying later.", type(error).__name__)
            await asyncio.sleep(HOUSEKEEPING_SECONDS)

    task = asyncio.get_running_loop().create_task(loop())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class AccessLogger(AbstractAccessLogger):
    """Method, path without its query string (a search could hold anything), status, duration."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info("%s %s status %s, %.0f ms", request.method, request.path, response.status, time * 1000)
