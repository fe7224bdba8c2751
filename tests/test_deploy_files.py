"""The container deployment in deploy/ is consistent with the project: the compose file wires
several Rasa and action servers to one PostgreSQL and one Redis, publishes only nginx, and
nginx (its locations evaluated the way nginx picks them) forwards only the channel webhooks,
the website socket and page, and /health; the connection-pool sizing rule of deploy/README.md
holds for the shipped defaults. (`docker compose config` needs a Docker client; see the README.)"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

import pytest
import yaml

from bot import settings
from bot.knowledge.database import _create_engine as create_knowledge_engine
from bot.persistence.tracker_store import create_tracker_engine

DEPLOY = settings.PROJECT_ROOT / "deploy"
ENV = {"POSTGRES_PASSWORD": "secret", "ACTION_SERVER_TOKEN": "token"}
RESERVED_CONNECTIONS = 10  # superuser_reserved_connections (3) + admin sessions, backups, migrations
ALLOWED = ["/webhooks/rest/webhook", "/webhooks/socketio/", "/webhooks/telegram/webhook",
           "/webhooks/slack/webhook", "/socket.io/", "/chat", "/chat/widget.js", "/chat/socket.io.min.js",
           "/health"]
FORBIDDEN = ["/", "/model/parse", "/model", "/conversations/abc/tracker", "/conversations/abc/messages",
             "/status", "/version", "/webhooks/callback/webhook", "/webhooks/restx/webhook", "/webhooks/health/",
             "/healthz", "/chatty", "/actions", "/webhook", "/socket.io.evil/"]
SNEAKY = ["/webhooks/rest/../../model/parse", "/webhooks/rest/%2e%2e/%2E%2E/status", "/chat/./../model",
          "/webhooks/rest/webhook%2F..%2F..%2Fmodel/parse"]


def interpolate(value: object, env: Dict[str, str]) -> object:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} (fails like compose when unset)."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: "re.Match[str]") -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if operator == ":?":
            raise KeyError(f"{name}: {argument}")
        return argument or ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", substitute, value)


@pytest.fixture(scope="module")
def compose() -> Dict[str, object]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose: Dict[str, object]) -> Dict[str, Dict[str, object]]:
    return interpolate(compose["services"], ENV)  # type: ignore[return-value]


# --------------------------------------------------------------------------- compose file


def test_compose_runs_replicas_on_shared_postgres_and_redis(services: Dict[str, Dict[str, object]]) -> None:
    assert {"rasa", "actions", "postgres", "redis", "nginx"} <= set(services)
    assert int(services["rasa"]["deploy"]["replicas"]) >= 2
    assert int(services["actions"]["deploy"]["replicas"]) >= 2
    rasa_env, actions_env = services["rasa"]["environment"], services["actions"]["environment"]
    assert rasa_env["TRACKER_STORE_URL"].startswith("postgresql+psycopg2://poreguide:secret@postgres:5432/")
    assert rasa_env["LOCK_STORE_URL"].startswith("redis://redis:6379/")
    assert actions_env["DATABASE_URL"] == rasa_env["TRACKER_STORE_URL"]
    assert rasa_env["ACTION_SERVER_TOKEN"] == actions_env["ACTION_SERVER_TOKEN"] == "token"
    assert "deploy/endpoints.yml" in services["rasa"]["command"]
    assert "--enable-api" not in services["rasa"]["command"], "Rasa's HTTP API must stay off"


def test_compose_refuses_to_start_without_secrets(compose: Dict[str, object]) -> None:
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        interpolate(compose["services"], {"ACTION_SERVER_TOKEN": "token"})


def test_only_nginx_is_published(services: Dict[str, Dict[str, object]]) -> None:
    published = sorted(name for name, service in services.items() if service.get("ports"))
    assert published == ["nginx"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]


def test_container_endpoints_use_the_projects_stores() -> None:
    committed = yaml.safe_load((settings.PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    deployed = yaml.safe_load((DEPLOY / "endpoints.yml").read_text(encoding="utf-8"))
    for key in ("tracker_store", "lock_store"):
        assert deployed[key] == committed[key], f"deploy/endpoints.yml {key} differs from endpoints.yml"
    assert deployed["action_endpoint"]["url"] == "http://actions:5055/webhook"


def test_image_is_built_with_the_projects_own_setup() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^RUN make setup\b", dockerfile, re.MULTILINE)
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", "var", "models"} <= set(ignored)


def test_rasa_serves_the_health_channel() -> None:
    credentials = yaml.safe_load((settings.PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8"))
    assert "bot.channels.health.HealthInput" in credentials, "credentials.yml lacks the /health channel"


# --------------------------------------------------------------------------- sizing rule


def test_pool_sizing_rule_holds_for_the_defaults(
    services: Dict[str, Dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """replicas x (pool + overflow) of Rasa + the action servers' pools <= max_connections - reserve."""
    url = "postgresql+psycopg2://poreguide@postgres:5432/poreguide"
    rasa_env = services["rasa"]["environment"]
    monkeypatch.setenv("SQL_POOL_SIZE", str(rasa_env["SQL_POOL_SIZE"]))
    monkeypatch.setenv("SQL_MAX_OVERFLOW", str(rasa_env["SQL_MAX_OVERFLOW"]))
    rasa_pool, action_pool = create_tracker_engine(url).pool, create_knowledge_engine(url).pool
    per_rasa = rasa_pool.size() + rasa_pool._max_overflow  # noqa: SLF001 - no public getter
    per_action = action_pool.size() + action_pool._max_overflow  # noqa: SLF001
    max_connections = int(re.search(r"max_connections=(\d+)", " ".join(services["postgres"]["command"])).group(1))
    needed = (int(services["rasa"]["deploy"]["replicas"]) * per_rasa
              + int(services["actions"]["deploy"]["replicas"]) * per_action)
    assert needed <= max_connections - RESERVED_CONNECTIONS, (needed, max_connections)
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    assert "max_connections" in readme and "SQL_POOL_SIZE" in readme and "TICKET_LOCK_LIFETIME" in readme


# --------------------------------------------------------------------------- nginx


Location = Tuple[str, str, str]  # (modifier, pattern, body)


def nginx_server() -> Tuple[str, List[Location]]:
    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    conf = re.sub(r"#[^\n]*", "", conf)
    locations = re.findall(r"location\s+(=|~\*|~|\^~)?\s*(\S+)\s*\{([^{}]*)\}", conf)
    guard = re.search(r'if \(\$request_uri ~\* "([^"]+)"\)\s*\{\s*return 400;', conf)
    assert guard, "nginx.conf lacks the dot-segment guard"
    return guard.group(1), locations


def nginx_location(path: str, locations: List[Location]) -> Optional[Location]:
    """The location nginx picks: exact match, else longest prefix if ^~, else first regex in
    file order, else longest prefix."""
    for location in locations:
        if location[0] == "=" and location[1] == path:
            return location
    prefixes = [loc for loc in locations if loc[0] in ("", "^~") and path.startswith(loc[1])]
    longest = max(prefixes, key=lambda loc: len(loc[1]), default=None)
    if longest and longest[0] == "^~":
        return longest
    for location in locations:
        if location[0] in ("~", "~*") and re.search(location[1], path, re.IGNORECASE if location[0] == "~*" else 0):
            return location
    return longest


def nginx_outcome(path: str) -> str:
    guard, locations = nginx_server()
    if re.search(guard, path, re.IGNORECASE):
        return "400"
    location = nginx_location(path, locations)
    assert location is not None, f"{path}: no location matches"
    body = location[2]
    if "proxy_pass" in body:
        return "proxied"
    status = re.search(r"return\s+(\d+)", body)
    return status.group(1) if status else "served by nginx"


@pytest.mark.parametrize("path", ALLOWED)
def test_proxy_forwards_the_channel_paths(path: str) -> None:
    assert nginx_outcome(path) == "proxied"


@pytest.mark.parametrize("path", FORBIDDEN)
def test_proxy_refuses_everything_else(path: str) -> None:
    assert nginx_outcome(path) == "404"


@pytest.mark.parametrize("path", SNEAKY)
def test_proxy_refuses_dot_segments(path: str) -> None:
    assert nginx_outcome(path) == "400"


def test_socket_location_upgrades_to_websocket_and_is_sticky() -> None:
    _, locations = nginx_server()
    socket = nginx_location("/socket.io/", locations)
    assert socket and "Upgrade $http_upgrade" in socket[2] and "rasa_sticky" in socket[2]
    conf = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    assert re.search(r"upstream rasa_sticky \{\s*ip_hash;", conf)
