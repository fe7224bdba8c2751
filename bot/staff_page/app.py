"""The staff page's web application (aiohttp, already in the venv through Rasa): the pieces every
page shares. The pages themselves are in `views`.

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
import functools
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Optional, TypeVar

import jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.consultations.models import CALLBACK, CONSULTATION
from bot.consultations.repository import ConsultationStoreUnavailable
from bot.staff_page.auth import Accounts
from bot.staff_page.config import StaffPageSettings
from bot.staff_page.ratelimit import LoginRateLimiter
from bot.staff_page.sessions import SESSION_COOKIE, Sessions
from bot.staff_page.store import STATUSES, StaffStore

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
PUBLIC_PATHS = ("/login", "/health", "/favicon.ico")
KIND_LABELS = {CONSULTATION: "consultation", CALLBACK: "call back"}
HOUSEKEEPING_SECONDS = 3600.0  # expired sessions and orphaned statuses are removed this often
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
T = TypeVar("T")


@dataclass
class Services:
    settings: StaffPageSettings
    store: StaffStore
    accounts: Accounts
    sessions: Sessions
    limiter: LoginRateLimiter
    templates: jinja2.Environment


SERVICES = web.AppKey("staff_page_services", Services)


def templates(settings: StaffPageSettings) -> jinja2.Environment:
    """Jinja2 with autoescaping for every template whatever its name, and undefined names as
    errors: a `<script>` in a name, a note or a message is shown as text."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(PACKAGE_DIR / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    zone = settings.zone

    def when(value: Optional[datetime]) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else ""

    environment.filters["when"] = when
    environment.filters["kind"] = kind_label
    environment.globals.update(statuses=STATUSES, time_zone=settings.time_zone)
    return environment


def kind_label(kind: str) -> str:
    """A request's kind as the receptionist says it ("call back" needs a phone call, not a slot);
    a value this version does not know is shown as stored."""
    return KIND_LABELS.get(kind, kind)


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
    from bot.staff_page import views

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


# --------------------------------------------------------------------------- helpers for the views


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


async def blocking(function: Callable[..., T], *args: Any) -> T:
    """Run a database call or a password hash on the default thread pool."""
    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(function, *args))


def render(request: web.Request, template: str, code: int = 200, **context: Any) -> web.Response:
    """The template with the signed-in account, its CSRF token and `context`; `code` is the HTTP status."""
    values: Dict[str, Any] = {
        "user": request.get("user"),
        "csrf": request.get("csrf", ""),
        "notice": None,
        "error": None,
    }
    values.update(context)
    body = services(request).templates.get_template(template).render(**values)
    return web.Response(text=body, status=code, content_type="text/html", charset="utf-8")


def is_https(request: web.Request) -> bool:
    """Whether the browser reached us over HTTPS: directly, or through a proxy that says so."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.secure or forwarded == "https"


def cookie_secure(request: web.Request) -> bool:
    choice = services(request).settings.cookie_secure
    return choice == "always" or (choice == "auto" and is_https(request))


def set_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int, path: str = "/"
) -> None:
    """HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), Secure over HTTPS."""
    response.set_cookie(
        name, value, max_age=max_age, path=path, httponly=True, samesite="Strict", secure=cookie_secure(request)
    )


def client_address(request: web.Request) -> str:
    """The peer, or the client a trusted proxy (STAFF_TRUSTED_PROXIES) names last in X-Forwarded-For."""
    peer = request.remote or "unknown"
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded and peer in services(request).settings.trusted_proxies:
        return forwarded.split(",")[-1].strip() or peer
    return peer


def safe_next(target: Optional[str]) -> str:
    """Where to go after signing in: a path on this site only (never `//other.site` or a URL)."""
    # Browsers drop tabs and line breaks from URLs ("/\t/evil.test" becomes "//evil.test"): none allowed.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and all(character.isprintable() and not character.isspace() for character in target)
    ):
        return target
    return "/requests"


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
