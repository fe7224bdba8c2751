"""The website channel: Rasa 3.6's socket.io channel (name `socketio`, path `/socket.io`, events
`user_uttered`/`bot_uttered`, session_request/session_confirm), fixed and guarded.

Why not Rasa's own: with python-socketio >= 5.10 its `session_request` handler calls the
coroutine `enter_room` without `await`, so with `session_persistence` the client never joins
its session's room and every reply is lost. It also accepts any origin, crashes on a message
that is not a JSON object, and drops messages sent before `session_request`. Here:
- sockets from other web pages are refused unless their origin is in POREGUIDE_ALLOWED_ORIGINS;
- a session id is accepted only if it looks like one (else a fresh one is confirmed); a message
  sent before (or racing) `session_request` confirms its session itself instead of being lost;
- every message passes through `guarded` (checked input, at least one reply): a text that is not
  well-formed Unicode or metadata that is not a small JSON object gets "I couldn't read that message";
- the blueprint also adds the clinic's demo page and the widget's files (`bot.channels.demo_page`).

credentials.yml:
    bot.rasa_overrides.socketio_channel.WebsiteInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Text

from rasa.core.channels.channel import UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels import demo_page
from bot.channels.edge import BadInput, parse_json
from bot.channels.reply_guard import guarded
from bot.security.allowed_origins import WebSettings

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"[A-Za-z0-9_-]{16,128}")
MAX_SOCKET_PAYLOAD_BYTES = 64 * 1024  # engine.io's default is 1 MB


def valid_session_id(value: object) -> Optional[str]:
    """`value` if a client may use it as its conversation id (the widget's and Rasa's random hex ids)."""
    return value if isinstance(value, str) and SESSION_ID.fullmatch(value) else None


class OriginPolicy:
    """Which web pages may open a socket: the server's own origin (as the browser addressed it, also
    behind a proxy that sets X-Forwarded-Proto/Host) and the configured ones. Clients that send no
    Origin (not a browser) pass, as with python-engineio's own check.

    Checked when the socket connects (covers polling and websockets; browsers apply no CORS to
    websockets). engine.io's own CORS handling is off: the launcher starts Rasa with `--cors` for
    POREGUIDE_ALLOWED_ORIGINS, and two Access-Control-Allow-Origin headers make browsers refuse."""

    def __init__(self, web_settings: WebSettings) -> None:
        self.allowed = frozenset(web_settings.allowed_origins)

    @staticmethod
    def own_origins(environ: Mapping[str, Any]) -> set:
        host = environ.get("HTTP_HOST", "")
        origins = {f"{environ.get('wsgi.url_scheme', 'http')}://{host}"}
        forwarded_host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
        forwarded_scheme = environ.get("HTTP_X_FORWARDED_PROTO", "http").split(",")[0].strip()
        origins.add(f"{forwarded_scheme}://{forwarded_host}")
        return origins

    def __call__(self, origin: Optional[str], environ: Mapping[str, Any]) -> bool:
        allowed = not origin or origin in self.allowed or origin in self.own_origins(environ)
        if not allowed:
            logger.info("Refused a website socket from origin %s (not in POREGUIDE_ALLOWED_ORIGINS)", origin)
        return allowed


class WebsiteBlueprint(SocketBlueprint):
    """Attaches socket.io (as Rasa's blueprint does) and adds the demo page routes to the app."""

    def register(self, app: Sanic, options: Dict[Text, Any]) -> None:
        super().register(app, options)
        demo_page.add_routes(app)


class WebsiteOutput(SocketIOOutput):
    """Rasa's socket.io output; custom JSON is sent as the event's data (Rasa passes it as
    keyword arguments to `emit`, which fails)."""

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        await self._send_message(recipient_id, json_message)


class WebsiteInput(SocketIOInput):
    """Rasa's `SocketIOInput` with the fixes above (same name, path, events and credentials)."""

    def get_output_channel(self) -> Optional[WebsiteOutput]:
        return WebsiteOutput(self.sio, self.bot_message_evt) if self.sio is not None else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        handle = guarded(on_new_message)
        origin_allowed = OriginPolicy(WebSettings.from_env())
        # [] = engine.io adds no CORS headers. A bigger payload is refused by engine.io (HTTP 413, the
        # socket closed) before it is decoded: no message a person types comes near it.
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[], max_http_buffer_size=MAX_SOCKET_PAYLOAD_BYTES)
        self.sio = sio
        webhook = WebsiteBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            return origin_allowed(environ.get("HTTP_ORIGIN"), environ) and self._authorised(auth)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Any = None) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            await self._confirm_session(sid, valid_session_id(requested) or uuid.uuid4().hex)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Any = None) -> None:
            data = data if isinstance(data, dict) else {"message": data}
            text = data.get("message")
            message = UserMessage(
                text if isinstance(text, str) else None,  # `guarded` answers that it can only read text
                WebsiteOutput(sio, self.bot_message_evt),
                await self._conversation_id(sid, data),
                input_channel=self.name(),
                metadata=self._metadata(data),
            )
            await handle(message)

        return webhook

    def _authorised(self, auth: Optional[Dict]) -> bool:
        """Rasa's optional JWT check (`jwt_key` in credentials); without a key every socket may connect."""
        if not self.jwt_key:
            return True
        token = auth.get("token") if isinstance(auth, dict) else None
        return bool(token and decode_bearer_token(token, self.jwt_key, self.jwt_algorithm))

    async def _confirm_session(self, sid: Text, session_id: str) -> str:
        """Move the socket into its conversation's room (awaited: the Rasa 3.6 bug) and tell the client."""
        assert self.sio is not None
        if self.session_persistence:
            previous = await self._confirmed(sid)
            if previous and previous != session_id:
                await self.sio.leave_room(sid, previous, namespace=self.namespace)
            await self.sio.enter_room(sid, session_id, namespace=self.namespace)
            await self.sio.save_session(sid, {"session_id": session_id}, namespace=self.namespace)
        await self.sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)
        return session_id

    async def _confirmed(self, sid: Text) -> Optional[str]:
        assert self.sio is not None
        return (await self.sio.get_session(sid, namespace=self.namespace)).get("session_id")

    async def _conversation_id(self, sid: Text, data: Dict[str, Any]) -> str:
        """The sender id for Rasa. With session persistence: the message's own session id when it
        is a valid one (socket.io handles events concurrently, so a message may overtake its
        `session_request`: it confirms the session itself rather than be dropped), else the
        socket's confirmed session, else a fresh one. Knowing a random 128-bit id is the key to a
        conversation, exactly as with `session_request`."""
        if not self.session_persistence:
            return sid
        requested = valid_session_id(data.get("session_id"))
        confirmed = await self._confirmed(sid)
        if requested and requested != confirmed:
            return await self._confirm_session(sid, requested)
        return confirmed or await self._confirm_session(sid, uuid.uuid4().hex)

    def _metadata(self, data: Dict[str, Any]) -> Any:
        """The message's metadata as sent (Rasa also accepts it as a JSON string): `guarded` checks
        it, and answers a message whose metadata is not a small JSON object as unreadable."""
        metadata = data.get(self.metadata_key)
        if isinstance(metadata, str) and metadata:
            try:
                metadata = parse_json(metadata.encode("utf-8", "surrogatepass"))
            except BadInput:
                return metadata  # not an object: refused by the guard
        return metadata or None
