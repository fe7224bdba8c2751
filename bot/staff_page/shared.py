"""What the staff page's application and every page share: its services (settings, store,
accounts, sessions, login limiter, templates) and the helpers the views use to reach them, render
a template, run blocking work on a thread, set a cookie and check where a request comes from."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Dict, Optional, TypeVar

import jinja2
from aiohttp import web

from bot.consultations.models import CALLBACK, CONSULTATION
from bot.staff_page.auth import Accounts
from bot.staff_page.config import StaffPageSettings
from bot.staff_page.ratelimit import LoginRateLimiter
from bot.staff_page.sessions import Sessions
from bot.staff_page.store import STATUSES, StaffStore

PACKAGE_DIR = Path(__file__).resolve().parent
KIND_LABELS = {CONSULTATION: "consultation", CALLBACK: "call back"}
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
