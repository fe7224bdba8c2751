"""The real nginx with deploy/nginx.conf, started the way deploy/docker-compose.yml starts it (its
command and bind mounts), in a private mount and network namespace where `rasa` names small HTTP
servers standing in for the Rasa replicas (deploy/test/nginx_sandbox.py). Checked with real
requests: `nginx -t` accepts the file; the channel paths reach a replica unchanged; Rasa's HTTP API
and everything else get 404 from nginx, dot segments 400; the website socket is sticky and
upgraded; a replica that dies is skipped; and a replica that comes back at a new address (a
restarted container) gets the requests within seconds, without restarting nginx.

Needs root, util-linux's unshare and Debian's nginx (`make deploy-test` installs it; `make test`
runs that first); skipped otherwise. The same nginx.conf also runs in the container stack of
`make deploy-test`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from bot import settings

# POREGUIDE_DEPLOY_DIR: check another copy of deploy/ (for example the files before a fix).
DEPLOY = Path(os.environ.get("POREGUIDE_DEPLOY_DIR") or settings.PROJECT_ROOT / "deploy")
SANDBOX = settings.PROJECT_ROOT / "deploy" / "test" / "nginx_sandbox.py"
IMAGE_DEFAULT_COMMAND = ["nginx", "-g", "daemon off;"]  # the nginx image's CMD

ALLOWED = [
    "/webhooks/rest/webhook",
    "/webhooks/socketio/",
    "/webhooks/telegram/webhook",
    "/webhooks/slack/webhook",
    "/socket.io/?EIO=4&transport=polling",
    "/chat",
    "/chat/widget.js",
    "/chat/socket.io.min.js",
    "/health",
]
FORBIDDEN = [
    "/",
    "/model/parse",
    "/model",
    "/conversations/abc/tracker",
    "/conversations/abc/messages",
    "/status",
    "/version",
    "/webhooks/callback/webhook",
    "/webhooks/restx/webhook",
    "/webhooks/health/",
    "/healthz",
    "/chatty",
    "/actions",
    "/webhook",
    "/socket.io.evil/",
    "/staff",
    "/staff/login",
    "/admin",
    "/health/database",
]
SNEAKY = [
    "/webhooks/rest/../../model/parse",
    "/webhooks/rest/%2e%2e/%2E%2E/status",
    "/chat/./../model",
    "/webhooks/rest/webhook%2F..%2F..%2Fmodel/parse",
]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("nginx") or not shutil.which("unshare"),
    reason="needs root, unshare and nginx (Debian's nginx: `make deploy-test` installs it)",
)


def nginx_service() -> Dict[str, Any]:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))
    return compose["services"]["nginx"]


def run_sandbox(scenario: str, tmp_path_factory: pytest.TempPathFactory, **extra: Any) -> Dict[str, Any]:
    service = nginx_service()
    mounts: List[List[str]] = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        assert source.startswith("./"), f"nginx mounts {source}: only files of deploy/ are expected"
        mounts.append([str(DEPLOY / source[2:]), target])
    spec = {"scenario": scenario, "command": service.get("command") or IMAGE_DEFAULT_COMMAND, "mounts": mounts, **extra}
    spec_file = tmp_path_factory.mktemp("nginx") / f"{scenario}.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    completed = subprocess.run(
        ["unshare", "--mount", "--net", "--fork", sys.executable, str(SANDBOX), str(spec_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout)
    assert "error" not in result, f"{result['error']}\n{result.get('nginx_log')}"
    return result


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    return run_sandbox("routes", tmp_path_factory, paths=ALLOWED + FORBIDDEN + SNEAKY)


def test_nginx_accepts_the_configuration(routes: Dict[str, Any]) -> None:
    assert routes["nginx_t"]["returncode"] == 0, routes["nginx_t"]["output"]


@pytest.mark.parametrize("path", ALLOWED)
def test_proxy_forwards_the_channel_paths_unchanged(routes: Dict[str, Any], path: str) -> None:
    assert routes["routes"][path] == {"status": 200, "forwarded": path}


@pytest.mark.parametrize("path", FORBIDDEN)
def test_proxy_refuses_everything_else(routes: Dict[str, Any], path: str) -> None:
    assert routes["routes"][path] == {"status": 404, "forwarded": None}


@pytest.mark.parametrize("path", SNEAKY)
def test_proxy_refuses_dot_segments(routes: Dict[str, Any], path: str) -> None:
    assert routes["routes"][path] == {"status": 400, "forwarded": None}


def test_socket_io_is_sticky_and_upgraded_while_webhooks_use_every_replica(routes: Dict[str, Any]) -> None:
    assert len(routes["socket_io_replicas"]) == 1, "one client's socket.io requests went to several replicas"
    assert routes["webhook_replicas"] == ["127.0.0.2", "127.0.0.3"]
    upgrade = routes["socket_io_upgrade"]
    assert (upgrade["upgrade"], upgrade["connection"].lower()) == ("websocket", "upgrade")


def test_a_replica_that_stops_answering_is_skipped(tmp_path_factory: pytest.TempPathFactory) -> None:
    result = run_sandbox("replica_dies", tmp_path_factory)
    assert result["statuses"] == [200] * 6, result["nginx_log"]
    assert result["replicas"] == ["127.0.0.2"]


def test_a_replica_back_at_a_new_address_gets_the_requests_without_restarting_nginx(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A restarted container comes back with a new address: nginx must follow (the issue: it
    answered 502 until nginx itself was restarted)."""
    result = run_sandbox("replica_restart", tmp_path_factory, replicas=["127.0.0.2"], wait_seconds=12)
    assert result["before"]["replica"] == "127.0.0.2"
    assert result["followed_after_seconds"] is not None, (
        f"nginx kept sending requests to the old address (last statuses {result['statuses']})\n{result['nginx_log']}"
    )
    assert result["followed_after_seconds"] <= 10
