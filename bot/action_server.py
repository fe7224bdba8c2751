"""How PoreGuide's action server runs, whoever starts it (`make actions`, the launcher, or plain
`rasa run actions`): a rasa_sdk plugin. rasa_sdk's `run` builds its Sanic app (importing the
`actions` package, which registers this plugin), calls the `attach_sanic_app_extensions` hook,
then reads SANIC_HOST and starts listening; so the hook below still decides all three."""
from __future__ import annotations

import logging
import os
import sys

import pluggy
from sanic import Sanic

from bot.security.action_token import TOKEN_ENV, TOKEN_HEADER, configured_token, require_token

HOST_ENV = "SANIC_HOST"
DEFAULT_HOST = "127.0.0.1"
# Under load Rasa's event loop can take seconds between opening a connection and writing the
# action call; Sanic's defaults (5 s idle, 60 s) then drop the call mid-request ("Cannot write to
# closing transport"). Rasa itself waits up to 300 s for an action (DEFAULT_REQUEST_TIMEOUT).
MINIMUM_TIMEOUTS = {"KEEP_ALIVE_TIMEOUT": 120, "REQUEST_TIMEOUT": 300, "RESPONSE_TIMEOUT": 300}

hookimpl = pluggy.HookimplMarker("rasa_sdk")
logger = logging.getLogger(__name__)


@hookimpl
def attach_sanic_app_extensions(app: Sanic) -> None:
    """rasa_sdk hook, run just before the action server starts listening."""
    os.environ.setdefault(HOST_ENV, DEFAULT_HOST)  # loopback unless SANIC_HOST says otherwise
    for name, seconds in MINIMUM_TIMEOUTS.items():
        app.config[name] = max(app.config[name], seconds)
    token = configured_token()
    if token is None:
        logger.warning("%s is unset: the action server accepts requests from any local caller", TOKEN_ENV)
        return
    require_token(app, token)
    logger.info("The action server requires the %s header", TOKEN_HEADER)


def register_plugin() -> None:
    """Make rasa_sdk's plugin manager call this module's hook (once, however often imported)."""
    from rasa_sdk.plugin import plugin_manager

    manager = plugin_manager()
    module = sys.modules[__name__]
    if not manager.is_registered(module):
        manager.register(module)
