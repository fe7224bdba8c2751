"""The clinic's demo page (`/chat`) and the chat widget's files (`/chat/<file>`), served by the
Rasa server itself so one `make serve` gives a working website and the one-line embed snippet
(`<script src="https://your-poreguide-host/chat/widget.js" defer></script>`) has a home.

Only files named in `ASSETS` are served (no path from the URL ever reaches the file system).
The socket.io client comes from web/node_modules (`npm ci`): nothing is fetched from a CDN."""

from __future__ import annotations

import functools
import html
import logging
from collections import defaultdict
from pathlib import Path
from string import Template
from typing import Dict, Tuple
from urllib.parse import urlsplit

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot import settings
from bot.channels.reply_guard import clinic_contact

logger = logging.getLogger(__name__)

PAGE_PATH = "/chat"
WEB_DIR = Path(__file__).with_name("web")
NODE_MODULES = settings.PROJECT_ROOT / "web" / "node_modules"
JS, CSS = "application/javascript; charset=utf-8", "text/css; charset=utf-8"
ASSETS: Dict[str, Tuple[Path, str]] = {
    "widget.js": (WEB_DIR / "widget.js", JS),
    "widget.css": (WEB_DIR / "widget.css", CSS),
    "page.css": (WEB_DIR / "page.css", CSS),
    "socket.io.min.js": (NODE_MODULES / "socket.io-client" / "dist" / "socket.io.min.js", JS),
}
MISSING_VALUE = "not available"
# The page loads only its own files and talks only to its own server: an injected script can't run.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
# widget.js, widget.css and the socket.io client are loaded by other sites that embed the widget.
ASSET_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
    "Cross-Origin-Resource-Policy": "cross-origin",
}


def _safe_link(url: str) -> str:
    """`url` if it is an http(s) address, else "" (a knowledge file must not inject `javascript:`)."""
    return url if urlsplit(url).scheme in ("http", "https") else ""


@functools.lru_cache(maxsize=1)
def page_html() -> str:
    """chat.html with the clinic's contact from the knowledge file, every value HTML-escaped."""
    contact = dict(clinic_contact())
    contact["clinic_phone_link"] = "tel:" + "".join(c for c in contact.get("clinic_phone", "") if c in "+0123456789")
    contact["clinic_email_link"] = "mailto:" + contact.get("clinic_email", "")
    contact["clinic_booking_url"] = _safe_link(contact.get("clinic_booking_url", ""))
    values = defaultdict(
        lambda: MISSING_VALUE, {key: html.escape(str(value), quote=True) for key, value in contact.items()}
    )
    return Template((WEB_DIR / "chat.html").read_text(encoding="utf-8")).substitute(values)


async def demo_page(_: Request) -> HTTPResponse:
    return response.html(page_html(), headers=PAGE_HEADERS)


async def asset(_: Request, name: str) -> HTTPResponse:
    if name not in ASSETS:
        return response.text("Not found", status=404)
    path, mime_type = ASSETS[name]
    if not path.exists():
        logger.error("Website file %s is missing (run `make serve`, which runs `npm ci` in web/)", path.name)
        return response.text("This file is not installed on the server: run `cd web && npm ci`.", status=503)
    return await response.file(path, mime_type=mime_type, headers=ASSET_HEADERS)


def add_routes(app: Sanic) -> None:
    """Add `/chat` and `/chat/<file>` to `app` (app-level routes, outside /webhooks)."""
    missing = [path.name for path, _ in ASSETS.values() if not path.exists()]
    if missing:
        logger.warning("Website files missing: %s; run `cd web && npm ci`", ", ".join(missing))
    app.add_route(demo_page, PAGE_PATH, methods=["GET"], strict_slashes=False, name="poreguide_demo_page")
    app.add_route(asset, f"{PAGE_PATH}/<name:str>", methods=["GET"], name="poreguide_widget_asset")
