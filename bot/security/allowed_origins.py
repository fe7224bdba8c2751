"""Which web pages may talk to PoreGuide from a browser: POREGUIDE_ALLOWED_ORIGINS, read once here
for both the Rasa server's CORS switches (`bot.security.rasa_api`) and the website socket's origin
check (`bot.rasa_overrides.socketio_channel`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Tuple

from bot.settings import environment

ALLOWED_ORIGINS_ENV = "POREGUIDE_ALLOWED_ORIGINS"


@dataclass(frozen=True)
class WebSettings:
    """The website channel: which other origins may open the socket (default: none but the
    server's own origin, i.e. the demo page it serves)."""

    allowed_origins: Tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "WebSettings":
        raw = environment(env).get(ALLOWED_ORIGINS_ENV, "")
        return cls(tuple(origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip()))
