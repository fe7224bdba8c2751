"""The staff page's settings, read from the environment when the server starts (never at import),
so `make staff`, the launcher and the tests can each set their own.

STAFF_SECRET keys the session and CSRF tokens. Without it a random one is made per process: the
page works, but every restart logs staff out, so a deployment sets it (32+ characters)."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field
from typing import FrozenSet, Mapping, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.settings import environment

STAFF_PORT_ENV = "STAFF_PORT"
STAFF_INTERFACE_ENV = "STAFF_INTERFACE"
STAFF_SECRET_ENV = "STAFF_SECRET"
STAFF_TIME_ZONE_ENV = "STAFF_TIME_ZONE"
STAFF_COOKIE_SECURE_ENV = "STAFF_COOKIE_SECURE"
STAFF_TRUSTED_PROXIES_ENV = "STAFF_TRUSTED_PROXIES"

DEFAULT_PORT = 5006
DEFAULT_INTERFACE = "127.0.0.1"  # loopback: reached through an SSH tunnel, a VPN or an internal proxy only
MIN_SECRET_LENGTH = 32
COOKIE_SECURE_CHOICES = ("auto", "always", "never")


class StaffPageConfigError(ValueError):
    """A setting is present but unusable; the message names the variable, never the secret."""


@dataclass(frozen=True)
class StaffPageSettings:
    port: int = DEFAULT_PORT
    interface: str = DEFAULT_INTERFACE
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    secret_from_env: bool = False
    time_zone: str = "UTC"
    # auto: Secure when the request came over HTTPS (directly or, per X-Forwarded-Proto, through a proxy).
    cookie_secure: str = "auto"
    # Proxies whose X-Forwarded-For names the client (for the per-address login limit).
    trusted_proxies: FrozenSet[str] = frozenset()

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "StaffPageSettings":
        env = environment(env)
        port_text = env.get(STAFF_PORT_ENV, "").strip() or str(DEFAULT_PORT)
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise StaffPageConfigError(f"{STAFF_PORT_ENV} must be a port number (got {port_text!r})")
        secret_text = env.get(STAFF_SECRET_ENV, "").strip()
        if secret_text and len(secret_text) < MIN_SECRET_LENGTH:
            raise StaffPageConfigError(
                f"{STAFF_SECRET_ENV} must be at least {MIN_SECRET_LENGTH} characters long; "
                'make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        time_zone = env.get(STAFF_TIME_ZONE_ENV, "").strip() or "UTC"
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise StaffPageConfigError(
                f"{STAFF_TIME_ZONE_ENV} is not a time zone name like Europe/London (got {time_zone!r})"
            ) from None
        cookie_secure = env.get(STAFF_COOKIE_SECURE_ENV, "").strip().lower() or "auto"
        if cookie_secure not in COOKIE_SECURE_CHOICES:
            raise StaffPageConfigError(f"{STAFF_COOKIE_SECURE_ENV} must be one of {', '.join(COOKIE_SECURE_CHOICES)}")
        return cls(
            port=int(port_text),
            interface=env.get(STAFF_INTERFACE_ENV, "").strip() or DEFAULT_INTERFACE,
            secret=secret_text.encode("utf-8") if secret_text else secrets.token_bytes(32),
            secret_from_env=bool(secret_text),
            time_zone=time_zone,
            cookie_secure=cookie_secure,
            trusted_proxies=_addresses(env.get(STAFF_TRUSTED_PROXIES_ENV, "")),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def _addresses(value: str) -> FrozenSet[str]:
    found = set()
    for part in (part.strip() for part in value.split(",")):
        if not part:
            continue
        try:
            found.add(str(ipaddress.ip_address(part)))
        except ValueError:
            raise StaffPageConfigError(
                f"{STAFF_TRUSTED_PROXIES_ENV} holds {part!r}, which is not an IP address"
            ) from None
    return frozenset(found)
