"""Command-line switches for `rasa run` that decide who may use the Rasa server over HTTP.

Rasa's HTTP API (/model/parse, /conversations/..., /model, ...) stays off unless
`RASA_API_TOKEN` or `RASA_JWT_SECRET` is set; then it is on and refuses callers without that
token (`?token=...`) or a JWT signed with that secret (`Authorization: Bearer ...`). Browser
origins other than the server's own are allowed only when listed in
`POREGUIDE_ALLOWED_ORIGINS` (comma-separated)."""

from __future__ import annotations

from typing import List, Mapping

from bot.security.allowed_origins import WebSettings

API_TOKEN_ENV = "RASA_API_TOKEN"
JWT_SECRET_ENV = "RASA_JWT_SECRET"
JWT_METHOD_ENV = "RASA_JWT_METHOD"
DEFAULT_JWT_METHOD = "HS256"


def api_arguments(env: Mapping[str, str]) -> List[str]:
    """`--enable-api` with its authentication, or nothing (API off) when no secret is set."""
    token = env.get(API_TOKEN_ENV, "").strip()
    secret = env.get(JWT_SECRET_ENV, "").strip()
    if not token and not secret:
        return []
    arguments = ["--enable-api"]
    if token:
        arguments += ["--auth-token", token]
    if secret:
        method = env.get(JWT_METHOD_ENV, "").strip() or DEFAULT_JWT_METHOD
        arguments += ["--jwt-secret", secret, "--jwt-method", method]
    return arguments


def cors_arguments(env: Mapping[str, str]) -> List[str]:
    """`--cors <origin> ...` for the configured origins; none means same origin only."""
    origins = WebSettings.from_env(env).allowed_origins
    return ["--cors", *origins] if origins else []


def rasa_run_arguments(env: Mapping[str, str]) -> List[str]:
    return api_arguments(env) + cors_arguments(env)


def status_lines(env: Mapping[str, str]) -> List[str]:
    """What `make serve` tells the operator about the HTTP API and CORS."""
    api = api_arguments(env)
    origins = WebSettings.from_env(env).allowed_origins
    return [
        "  Rasa HTTP API: "
        + ("on, token/JWT required" if api else f"off (set {API_TOKEN_ENV} or {JWT_SECRET_ENV} to turn it on)"),
        "  Other web origins allowed: " + (", ".join(origins) if origins else "none (same origin only)"),
    ]
