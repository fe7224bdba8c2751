"""The staff page's pages: sign in and out, the list of requests, one request with its status
history and conversation, a conversation by the key in a staff notice, the CSV export, the
deletion of one person's data, and the audit log. Each one that shows or changes personal data
writes an audit entry before it answers. Forms post and redirect (303), so a reload never repeats
an action."""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timezone
from typing import Optional

from aiohttp import web

from bot.consultations.references import is_reference, normalise_reference
from bot.staff.links import conversation_key
from bot.staff_page import audit
from bot.staff_page.auth import AccountError, normalise_username
from bot.staff_page.sessions import ABSOLUTE, LOGIN_COOKIE, SESSION_COOKIE
from bot.staff_page.shared import (
    blocking,
    client_address,
    render,
    safe_next,
    services,
    set_cookie,
)
from bot.staff_page.store import STATUSES, InvalidChange
from bot.staff_page.transcript import find_sender, is_key, read_transcript

logger = logging.getLogger(__name__)

LOGIN_FORM_SECONDS = 3600  # how long a sign-in form stays valid
NONCE = re.compile(r"[A-Za-z0-9_-]{32}")
EXPORT_ALL = 1_000_000


def add_routes(app: web.Application) -> None:
    app.router.add_get("/health", health)
    app.router.add_get("/favicon.ico", no_icon)
    app.router.add_get("/", home)
    app.router.add_get("/login", login_form, name="login")
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/requests", request_list)
    app.router.add_get("/requests/{reference}", request_page)
    app.router.add_post("/requests/{reference}/status", change_status)
    app.router.add_post("/requests/{reference}/delete", delete_person)
    app.router.add_get("/conversations/{key}", conversation_page)
    app.router.add_post("/export", export)
    app.router.add_get("/audit", audit_page)


async def health(request: web.Request) -> web.Response:
    """For the launcher's supervisor: the process answers (the database is reported per page)."""
    return web.json_response({"status": "ok"})


async def no_icon(request: web.Request) -> web.Response:
    """Browsers ask for it on every page; answered here so the request is not sent to sign in."""
    return web.Response(status=204)


async def home(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther(location="/requests")


# --------------------------------------------------------------------------- signing in and out


async def login_form(
    request: web.Request, error: str = "", status: int = 200, username: str = "", next_page: Optional[str] = None
) -> web.Response:
    """The sign-in form, its CSRF token bound to a cookie of its own (a double submit, signed)."""
    service = services(request)
    next_page = safe_next(request.query.get("next") if next_page is None else next_page)
    if request.method == "GET":
        if await blocking(service.sessions.find, request.cookies.get(SESSION_COOKIE)):
            raise web.HTTPSeeOther(location=next_page)
    # One nonce per browser, kept while its cookie lives: a second tab, or the browser's own request
    # for /favicon.ico, must not invalidate a form already on screen.
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not NONCE.fullmatch(nonce):
        nonce = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        code=status,
        login_csrf=service.sessions.login_csrf_token(nonce),
        next_page=next_page,
        error=error or None,
        username=username,
    )
    set_cookie(request, response, LOGIN_COOKIE, nonce, LOGIN_FORM_SECONDS, path="/login")
    return response


async def login(request: web.Request) -> web.Response:
    service = services(request)
    form = await request.post()
    if not service.sessions.login_csrf_ok(request.cookies.get(LOGIN_COOKIE), str(form.get("csrf_token", ""))):
        logger.warning("Staff page: a sign-in without a valid CSRF token was refused.")
        return await login_form(
            request, "The sign-in form had expired. Please try again.", status=403, next_page=str(form.get("next", ""))
        )
    name, password = str(form.get("username", ""))[:200], str(form.get("password", ""))
    try:
        account = normalise_username(name)
    except AccountError:
        account = name.strip().lower()[:64]
    address = client_address(request)
    wait = service.limiter.retry_after(account, address)
    if wait > 0:
        actor = account if await blocking(service.accounts.exists, account) else audit.UNKNOWN_ACCOUNT
        await blocking(audit.record, service.store.engine, actor, audit.LOGIN_LIMITED)
        logger.warning("Staff page: sign-in refused, too many failed attempts.")
        response = await login_form(
            request,
            f"Too many failed sign-ins. Try again in {_minutes(wait)}.",
            status=429,
            username=name,
            next_page=str(form.get("next", "")),
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    user = await blocking(service.accounts.verify, name, password)
    if user is None:
        service.limiter.failed(account, address)
        actor = account if await blocking(service.accounts.exists, account) else audit.UNKNOWN_ACCOUNT
        await blocking(audit.record, service.store.engine, actor, audit.LOGIN_FAILED)
        logger.info("Staff page: a sign-in failed (wrong account name or password).")
        return await login_form(
            request, "Wrong account name or password.", status=401, username=name, next_page=str(form.get("next", ""))
        )
    service.limiter.succeeded(account)
    token = await blocking(service.sessions.start, user)
    await blocking(audit.record, service.store.engine, user, audit.LOGIN)
    logger.info("Staff page: a staff member signed in.")
    response = web.HTTPSeeOther(location=safe_next(str(form.get("next", ""))))
    set_cookie(request, response, SESSION_COOKIE, token, int(ABSOLUTE.total_seconds()))
    response.del_cookie(LOGIN_COOKIE, path="/login")
    raise response


async def logout(request: web.Request) -> web.Response:
    service = services(request)
    await blocking(service.sessions.end, request["session_token"])
    await blocking(audit.record, service.store.engine, request["user"], audit.LOGOUT)
    response = web.HTTPSeeOther(location="/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


# --------------------------------------------------------------------------- requests


def _status_filter(value: str) -> str:
    return value if value in STATUSES else ""


async def request_list(request: web.Request) -> web.Response:
    service = services(request)
    status = _status_filter(request.query.get("status", ""))
    search = request.query.get("q", "").strip()[:20]
    page = int(request.query["page"]) if request.query.get("page", "").isdigit() else 1
    listing = await blocking(service.store.listing, status or None, search, page)
    detail = f"status={status or 'all'} search={normalise_reference(search) or '-'} page={listing.page}"
    await blocking(audit.record, service.store.engine, request["user"], audit.VIEW_LIST, None, detail)
    deleted = request.query.get("deleted", "")
    notice = (
        f"All data of request {normalise_reference(deleted)} and its conversation was deleted."
        if is_reference(deleted)
        else None
    )
    return render(request, "requests.html", listing=listing, status=status, search=search, notice=notice)


async def _request_page(
    request: web.Request, reference: str, *, error: str = "", status: int = 200, notice: str = ""
) -> web.Response:
    service = services(request)
    record = await blocking(service.store.find, reference)
    if record is None:
        return render(
            request,
            "error.html",
            code=404,
            title="Not found",
            message="There is no request with this reference (it may have been deleted).",
        )
    history = await blocking(service.store.history, record.reference)
    transcript = await blocking(read_transcript, service.store.tracker_engine, record.details.conversation_id)
    await blocking(audit.record, service.store.engine, request["user"], audit.VIEW_REQUEST, record.reference)
    return render(
        request,
        "request.html",
        code=status,
        record=record,
        history=history,
        current=history[0].status if history else "new",
        transcript=transcript,
        conversation_key=conversation_key(record.details.conversation_id),
        error=error or None,
        notice=notice or None,
    )


def _reference(request: web.Request) -> str:
    reference = request.match_info["reference"]
    if not is_reference(reference):
        raise web.HTTPNotFound(text="No such request.")
    return normalise_reference(reference)


async def request_page(request: web.Request) -> web.Response:
    notice = "Status saved." if request.query.get("saved") == "1" else ""
    return await _request_page(request, _reference(request), notice=notice)


async def change_status(request: web.Request) -> web.Response:
    service = services(request)
    reference = _reference(request)
    form = await request.post()
    new_status, note = str(form.get("status", "")), str(form.get("note", ""))
    try:
        previous = await blocking(service.store.change_status, reference, new_status, note, request["user"])
    except InvalidChange as error:
        return await _request_page(request, reference, error=str(error), status=400)
    detail = f"{previous} -> {new_status}" + (", with a note" if note.strip() else "")
    await blocking(audit.record, service.store.engine, request["user"], audit.STATUS, reference, detail)
    logger.info("Staff page: status of %s changed to %s.", reference, new_status)
    raise web.HTTPSeeOther(location=f"/requests/{reference}?saved=1")


async def delete_person(request: web.Request) -> web.Response:
    """Delete the request, its conversation and every notice and note about them (after a tick
    in the confirmation box: there is no undo)."""
    service = services(request)
    reference = _reference(request)
    form = await request.post()
    if form.get("confirm") != "yes":
        return await _request_page(
            request, reference, status=400, error="Tick the box to confirm the deletion; nothing was deleted."
        )
    if await blocking(service.store.find, reference) is None:
        return render(
            request,
            "error.html",
            code=404,
            title="Not found",
            message="There is no request with this reference (it may have been deleted already).",
        )
    report = await blocking(service.store.erase_person, reference)
    detail = (
        f"{report.requests} request(s), {report.conversations} conversation(s) ({report.events} events), "
        f"{report.notices} staff notice(s)"
    )
    await blocking(audit.record, service.store.engine, request["user"], audit.DELETE, reference, detail)
    raise web.HTTPSeeOther(location=f"/requests?deleted={reference}")


async def export(request: web.Request) -> web.Response:
    """The requests of the current filter as CSV (all pages)."""
    from bot.staff_page.export import csv_bytes

    service = services(request)
    form = await request.post()
    status = _status_filter(str(form.get("status", "")))
    search = str(form.get("q", "")).strip()[:20]
    listing = await blocking(service.store.listing, status or None, search, 1, EXPORT_ALL)
    body = csv_bytes(listing.rows)
    detail = f"{listing.total} request(s), status={status or 'all'} search={normalise_reference(search) or '-'}"
    await blocking(audit.record, service.store.engine, request["user"], audit.EXPORT, None, detail)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M")
    return web.Response(
        body=body,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="consultation-requests-{stamp}.csv"'},
    )


# --------------------------------------------------------------------------- conversations and audit


async def conversation_page(request: web.Request) -> web.Response:
    """A conversation by its key, as linked from a staff notice (a red flag, a request)."""
    service = services(request)
    key = request.match_info["key"].lower()
    if not is_key(key):
        raise web.HTTPNotFound(text="No such conversation.")
    listing = await blocking(service.store.listing, None, "", 1, EXPORT_ALL)
    known = [row.record.details.conversation_id for row in listing.rows]
    sender = await blocking(find_sender, service.store.tracker_engine, key, known)
    if sender is None:
        return render(
            request,
            "error.html",
            code=404,
            title="Not found",
            message="This conversation is no longer stored (deleted, or past its retention period).",
        )
    transcript = await blocking(read_transcript, service.store.tracker_engine, sender)
    requests_made = [row for row in listing.rows if row.record.details.conversation_id == sender]
    await blocking(audit.record, service.store.engine, request["user"], audit.VIEW_CONVERSATION, key)
    return render(request, "conversation.html", key=key, transcript=transcript, rows=requests_made)


async def audit_page(request: web.Request) -> web.Response:
    service = services(request)
    await blocking(audit.record, service.store.engine, request["user"], audit.VIEW_AUDIT)
    entries = await blocking(audit.recent, service.store.engine)
    return render(request, "audit.html", entries=entries)
