"""The container deployment in deploy/ is consistent with the project: the compose file wires
several Rasa and action servers to one PostgreSQL and one Redis and publishes only nginx, plus
the staff page on the host's loopback with no route in nginx.conf; the action servers get the
staff notice settings; the containers' endpoints.yml, read by Rasa's own reader, sends the
action-server token from the environment; healthchecks survive podman; the connection-pool
sizing rule of deploy/README.md holds for the shipped defaults. nginx itself is tested for real
in tests/test_deploy_nginx.py, and the whole stack, built and run, by `make deploy-test`
(deploy/test/run.sh)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from bot import settings
from bot.persistence.database import create_sql_engine
from bot.security.action_token import TOKEN_HEADER

# POREGUIDE_DEPLOY_DIR: check another copy of deploy/ (for example the files before a fix).
DEPLOY = Path(os.environ.get("POREGUIDE_DEPLOY_DIR") or settings.PROJECT_ROOT / "deploy")
ENV = {"POSTGRES_PASSWORD": "secret", "ACTION_SERVER_TOKEN": "token"}
RESERVED_CONNECTIONS = 10  # superuser_reserved_connections (3) + admin sessions, backups, migrations


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
    # bot/rasa_run.py: the API switches, CORS and the Rasa overrides installed in the process.
    assert services["rasa"]["command"][:4] == ["python", "-m", "bot.rasa_run", "run"]


def test_compose_refuses_to_start_without_secrets(compose: Dict[str, object]) -> None:
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        interpolate(compose["services"], {"ACTION_SERVER_TOKEN": "token"})


def test_only_nginx_is_published(services: Dict[str, Dict[str, object]]) -> None:
    """nginx to the network; the staff page to the host's loopback only (its own test below)."""
    published = sorted(name for name, service in services.items() if service.get("ports"))
    assert published == ["nginx", "staff"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in services["nginx"]["volumes"]


# --------------------------------------------------------------------------- the staff side


def test_the_staff_page_runs_from_the_rasa_image_on_postgres(services: Dict[str, Dict[str, object]]) -> None:
    """The command `make staff` runs, from the image with the full venv, reading requests and
    conversations where the action and Rasa servers write them."""
    from bot.staff_page.__main__ import _parser

    staff = services["staff"]
    assert staff["image"] == services["rasa"]["image"] and staff["build"] == services["rasa"]["build"]
    assert staff["command"][:4] == ["python", "-m", "bot.staff_page", "serve"]
    assert "$(PY) -m bot.staff_page serve" in (settings.PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    arguments = _parser().parse_args(staff["command"][3:])
    assert arguments.interface == "0.0.0.0"  # inside the container, so the port mapping reaches it
    environment = staff["environment"]
    assert (
        environment["DATABASE_URL"]
        == environment["TRACKER_STORE_URL"]
        == services["rasa"]["environment"]["TRACKER_STORE_URL"]
    )
    assert environment["DATABASE_URL"] == services["actions"]["environment"]["DATABASE_URL"]
    assert staff["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert (
        staff["healthcheck"]["test"][0] == "CMD-SHELL"
        and f":{arguments.port}/health" in staff["healthcheck"]["test"][1]
    )


def test_the_staff_page_is_bound_to_the_hosts_loopback_only(
    compose: Dict[str, object], services: Dict[str, Dict[str, object]]
) -> None:
    from bot.staff_page.__main__ import _parser

    container_port = _parser().parse_args(services["staff"]["command"][3:]).port
    assert services["staff"]["ports"] == [f"127.0.0.1:8089:{container_port}"]
    moved = interpolate(compose["services"], {**ENV, "STAFF_PORT": "9000"})
    assert moved["staff"]["ports"] == [f"127.0.0.1:9000:{container_port}"]
    assert "expose" not in services["staff"] and "network_mode" not in services["staff"]


def test_nginx_has_no_route_to_the_staff_page() -> None:
    """Every proxy_pass goes to an upstream of Rasa servers only; nothing names the staff service or its port."""
    conf = re.sub(r"#[^\n]*", "", (DEPLOY / "nginx.conf").read_text(encoding="utf-8"))
    upstreams = dict(re.findall(r"upstream\s+(\w+)\s*\{([^}]*)\}", conf))
    assert upstreams and all(
        re.fullmatch(r"(?:tasks\.)?rasa:5005", server)
        for body in upstreams.values()
        for server in re.findall(r"server\s+(\S+?)\s*[;\s]", body)
    ), upstreams
    targets = re.findall(r"proxy_pass\s+([^;]+);", conf)
    assert targets and all(target.strip() in {f"http://{name}" for name in upstreams} for target in targets), targets
    assert "staff" not in conf.lower() and "5006" not in conf and "8089" not in conf


def test_the_action_servers_get_every_staff_notice_setting(services: Dict[str, Dict[str, object]]) -> None:
    """Every variable bot/notices/config.py reads reaches the action servers, optional (empty by
    default), and is in env.example and deploy/README.md."""
    from bot.notices import config

    names = {value for key, value in vars(config).items() if key.endswith("_ENV") and isinstance(value, str)}
    assert {"SMTP_URL", "STAFF_EMAIL", "SLACK_STAFF_CHANNEL", "SLACK_BOT_TOKEN"} <= names
    actions_env = services["actions"]["environment"]
    assert names <= set(actions_env), names - set(actions_env)
    assert all(actions_env[name] == "" for name in names)  # unset: notices wait in the outbox
    raw = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    assert all(raw["services"]["actions"]["environment"][name] == f"${{{name}:-}}" for name in names)
    example = (DEPLOY / "env.example").read_text(encoding="utf-8")
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for name in names - {"SLACK_BOT_TOKEN", "SLACK_API_BASE_URL"}:  # the Slack channel's, listed with it
        assert re.search(rf"^{name}=", example, re.MULTILINE), name
    for name in ("SMTP_URL", "STAFF_EMAIL", "SLACK_STAFF_CHANNEL", "STAFF_SECRET"):
        assert name in readme, name


def test_the_readme_gives_the_command_that_creates_a_staff_account() -> None:
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    command = re.search(r"docker compose (.*) run --rm staff python -m bot\.staff_page add-user NAME", readme)
    assert command and "-f deploy/docker-compose.yml" in command.group(1)


def test_container_endpoints_use_the_projects_stores() -> None:
    committed = yaml.safe_load((settings.PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    deployed = yaml.safe_load((DEPLOY / "endpoints.yml").read_text(encoding="utf-8"))
    for key in ("tracker_store", "lock_store"):
        assert deployed[key] == committed[key], f"deploy/endpoints.yml {key} differs from endpoints.yml"
    assert deployed["action_endpoint"]["url"] == "http://actions:5055/webhook"


def test_container_endpoints_send_the_action_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rasa substitutes ${...} only in unquoted values: a quoted one is sent literally, and every
    action call is refused (401)."""
    from rasa.core.utils import read_endpoints_from_path

    monkeypatch.setenv("ACTION_SERVER_TOKEN", "token-from-the-environment")
    endpoints = read_endpoints_from_path(DEPLOY / "endpoints.yml")
    assert endpoints.action.headers == {TOKEN_HEADER: "token-from-the-environment"}


def test_healthchecks_survive_podman(services: Dict[str, Dict[str, object]]) -> None:
    """Podman 4.3 splits a CMD healthcheck's arguments at spaces: a command with spaces in one
    argument must be CMD-SHELL."""
    for name, service in services.items():
        test = service.get("healthcheck", {}).get("test")
        if test and test[0] == "CMD":
            assert not any(" " in argument for argument in test[1:]), f"{name}: write the healthcheck as CMD-SHELL"


def test_image_is_built_with_the_projects_own_setup() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^RUN\b(?:[^\n]*\\\n)*[^\n]*\bmake setup\b", dockerfile, re.MULTILINE)  # one RUN, maybe continued
    assert "COPY --chown=poreguide:poreguide . ." in dockerfile
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", ".venv-actions", "var", "models"} <= set(ignored)


def test_action_servers_run_their_own_image_on_the_locked_python(services: Dict[str, Dict[str, object]]) -> None:
    """Issue 19: the action servers run deploy/Dockerfile.actions, which installs only
    actions/requirements.lock, on the Python that lock was resolved on; the Rasa servers and the
    seed keep the Rasa image."""
    actions = services["actions"]
    assert actions["build"]["dockerfile"] == "deploy/Dockerfile.actions"
    assert actions["command"][:4] == ["python", "-m", "rasa_sdk", "--actions"]
    assert services["rasa"]["build"]["dockerfile"] == services["seed"]["build"]["dockerfile"] == "deploy/Dockerfile"
    dockerfile = (DEPLOY / "Dockerfile.actions").read_text(encoding="utf-8")
    lock = (settings.PROJECT_ROOT / "actions" / "requirements.lock").read_text(encoding="utf-8")
    locked_on = re.search(r"on Python (3\.\d+)", lock)
    assert locked_on, "actions/requirements.lock does not say which Python it was resolved on"
    assert re.search(rf"^FROM python:{re.escape(locked_on.group(1))}-slim", dockerfile, re.MULTILINE)
    assert "pip install --no-cache-dir -r actions/requirements.lock" in dockerfile
    assert "make setup" not in dockerfile and "rasa==" not in lock.lower()
    ignored = (DEPLOY / "Dockerfile.actions.dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", ".venv-actions", "var"} <= set(ignored)


def test_rasa_serves_the_health_channel() -> None:
    credentials = yaml.safe_load((settings.PROJECT_ROOT / "credentials.yml").read_text(encoding="utf-8"))
    assert "bot.channels.health.HealthInput" in credentials, "credentials.yml lacks the /health channel"


# --------------------------------------------------------------------------- sizing rule


def test_pool_sizing_rule_holds_for_the_defaults(
    services: Dict[str, Dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """replicas x (pool + overflow) of Rasa + the action servers' and the staff page's pools
    <= max_connections - reserve."""
    url = "postgresql+psycopg2://poreguide@postgres:5432/poreguide"
    rasa_pool, action_pool, staff_pool = (
        _pool(services[name]["environment"], url, monkeypatch) for name in ("rasa", "actions", "staff")
    )
    per_rasa = rasa_pool.size() + rasa_pool._max_overflow  # noqa: SLF001 - no public getter
    per_action = action_pool.size() + action_pool._max_overflow  # noqa: SLF001
    max_connections = int(re.search(r"max_connections=(\d+)", " ".join(services["postgres"]["command"])).group(1))
    # One process, one engine for both of its URLs (bot.persistence.database.get_engine: the same URL here).
    staff_page = staff_pool.size() + staff_pool._max_overflow  # noqa: SLF001
    needed = (
        int(services["rasa"]["deploy"]["replicas"]) * per_rasa
        + int(services["actions"]["deploy"]["replicas"]) * per_action
        + staff_page
    )
    assert needed <= max_connections - RESERVED_CONNECTIONS, (needed, max_connections)
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    assert "max_connections" in readme and "SQL_POOL_SIZE" in readme and "TICKET_LOCK_LIFETIME" in readme


def _pool(environment: Dict[str, object], url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The pool one service's processes get from the one engine factory, with that service's settings."""
    for name in ("SQL_POOL_SIZE", "SQL_MAX_OVERFLOW"):
        if name in environment:
            monkeypatch.setenv(name, str(environment[name]))
        else:
            monkeypatch.delenv(name, raising=False)
    return create_sql_engine(url).pool


def test_a_change_to_the_code_reuses_the_dependency_layer() -> None:
    """The venv (2.7 GB, most of the build) is installed from the files that decide it, before the
    project is copied: every prerequisite of the Makefile's venv target is copied ahead of it."""
    steps = re.findall(
        r"^(COPY|RUN)\b((?:[^\n]*\\\n)*[^\n]*)", (DEPLOY / "Dockerfile").read_text(encoding="utf-8"), re.M
    )
    install = next(i for i, (kind, text) in enumerate(steps) if kind == "RUN" and "make .venv/.installed" in text)
    whole_project = next(i for i, (kind, text) in enumerate(steps) if kind == "COPY" and text.rstrip().endswith(". ."))
    assert install < whole_project
    copied_first = " ".join(text for kind, text in steps[:install] if kind == "COPY")
    makefile = (DEPLOY.parent / "Makefile").read_text(encoding="utf-8")
    prerequisites = re.search(r"^\$\(INSTALLED\): (.+)$", makefile, re.M).group(1).split()
    for prerequisite in prerequisites:
        assert prerequisite in copied_first or prerequisite.split("/")[0] + "/" in copied_first, prerequisite
