"""The REAL Rasa server: its HTTP API is absent unless a token or JWT secret is configured, and then
refuses callers without it; CORS allows only the configured origins; secrets stay off command lines."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest

from tests.e2e import start_servers
from tests.security_fixtures import http

pytestmark = pytest.mark.slow

API_TOKEN = "api-token-for-the-security-test-8c1f"
JWT_SECRET = "jwt-secret-for-the-security-test-27d9"
ALLOWED = "http://allowed.example"
FOREIGN = "http://elsewhere.example"
PARSE_BODY = json.dumps({"text": "what is microneedling?"}).encode("utf-8")


@pytest.fixture(scope="module")
def api_url(tmp_path_factory, e2e_database_url):
    """A Rasa server with the HTTP API on (token and JWT) and one other allowed origin."""
    yield from start_servers(
        tmp_path_factory,
        e2e_database_url,
        rasa_env={"RASA_API_TOKEN": API_TOKEN, "RASA_JWT_SECRET": JWT_SECRET, "POREGUIDE_ALLOWED_ORIGINS": ALLOWED},
    )


def _bearer(secret: str) -> dict:
    token = jwt.encode({"user": {"username": "staff", "role": "admin"}}, secret, algorithm="HS256")
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def _parse(base_url: str, query: str = "", headers: dict = None) -> int:
    return http(f"{base_url}/model/parse{query}", PARSE_BODY, headers or {"Content-Type": "application/json"})[0]


def _tracker(base_url: str, query: str = "", headers: dict = None) -> int:
    return http(f"{base_url}/conversations/someone/tracker{query}", headers=headers)[0]


def test_without_a_secret_the_api_routes_are_not_there(bot_url):
    assert _parse(bot_url) == 404
    assert _parse(bot_url, f"?token={API_TOKEN}") == 404
    assert _tracker(bot_url) == 404
    assert http(f"{bot_url}/status")[0] == 404


def test_the_api_refuses_requests_without_the_token(api_url):
    assert _parse(api_url) == 401
    assert _tracker(api_url) == 401
    assert _parse(api_url, "?token=wrong") == 401
    assert _tracker(api_url, "?token=wrong") == 401


def test_the_api_accepts_the_token(api_url):
    assert _parse(api_url, f"?token={API_TOKEN}") == 200
    assert _tracker(api_url, f"?token={API_TOKEN}") == 200


def test_the_api_accepts_only_a_jwt_signed_with_the_secret(api_url):
    assert _parse(api_url, headers=_bearer(JWT_SECRET)) == 200
    assert _tracker(api_url, headers=_bearer(JWT_SECRET)) == 200
    assert _parse(api_url, headers=_bearer("some-other-secret-of-32-bytes-at-least")) == 401


def test_the_chat_channel_needs_no_api_secret(api_url):
    status, _, body = http(
        f"{api_url}/webhooks/rest/webhook",
        json.dumps({"sender": "cors-user", "message": "hello"}).encode(),
        {"Content-Type": "application/json"},
    )
    assert status == 200 and json.loads(body)


def _preflight_origin(base_url: str, origin: str) -> str:
    """Access-Control-Allow-Origin of a browser's preflight for a POST from `origin` ('' if none)."""
    _, headers, _ = http(
        f"{base_url}/webhooks/rest/webhook",
        method="OPTIONS",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    return {name.lower(): value for name, value in headers.items()}.get("access-control-allow-origin", "")


def _get_origin(base_url: str, origin: str) -> str:
    _, headers, _ = http(f"{base_url}/webhooks/rest/", headers={"Origin": origin})
    return {name.lower(): value for name, value in headers.items()}.get("access-control-allow-origin", "")


def test_cors_allows_the_configured_origin_only(api_url):
    assert _preflight_origin(api_url, ALLOWED) == ALLOWED
    assert _get_origin(api_url, ALLOWED) == ALLOWED
    assert _preflight_origin(api_url, FOREIGN) == ""
    assert _get_origin(api_url, FOREIGN) == ""


def test_cors_allows_no_other_origin_by_default(bot_url):
    assert _preflight_origin(bot_url, ALLOWED) == ""
    assert _get_origin(bot_url, ALLOWED) == ""


def test_secrets_are_on_no_command_line(api_url):
    command_lines = [path.read_bytes() for path in Path("/proc").glob("[0-9]*/cmdline") if _readable(path)]
    assert any(b"bot.rasa_run" in line for line in command_lines), "the Rasa server was not found"
    assert not any(API_TOKEN.encode() in line or JWT_SECRET.encode() in line for line in command_lines)


def _readable(path: Path) -> bool:
    try:
        path.read_bytes()
    except OSError:
        return False
    return True
