"""GET /health on the REAL Rasa server (health channel on, tracker store in PostgreSQL): ok while
the database works; when it is unreachable the server still starts and still answers people,
but /health says "degraded" with HTTP 503 and the log has an ERROR; ok again once it is back."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.e2e import Conversation, assert_contains
from tests.persistence_fixtures import (  # noqa: F401 - fixtures
    RasaServer,
    ServerFarm,
    TcpForwarder,
    get_json,
    postgres_target,
    tracker_postgres_url,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def forwarder() -> Iterator[TcpForwarder]:
    """The Rasa server's only way to PostgreSQL; stopped, the database is unreachable."""
    forwarder = TcpForwarder(postgres_target())
    yield forwarder
    forwarder.stop()


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    e2e_database_url: str,
    tracker_postgres_url: str,  # noqa: F811
    forwarder: TcpForwarder,
) -> Iterator[RasaServer]:
    """Started while the database is DOWN (forwarder not started yet): it must start anyway."""
    url = tracker_postgres_url.replace(f":{postgres_target()[1]}/", f":{forwarder.port}/")
    farm = ServerFarm(tmp_path_factory, e2e_database_url)
    try:
        yield farm.start_rasa({"TRACKER_STORE_URL": url})
    finally:
        farm.close()


def test_unreachable_database_degrades_health_but_people_get_answers(server: RasaServer) -> None:
    status, body = get_json(f"{server.url}/health")
    assert status == 503, body
    assert body["status"] == "degraded" and body["checks"]["tracker_store"] == "failing", body
    assert any(problem.startswith("tracker_store unavailable") for problem in body["problems"]), body

    answer, _ = Conversation(server.url).say("what even is microneedling")
    assert_contains("what even is microneedling", answer, ["tiny punctures"])
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert "ERROR" in log and "tracker_store failed" in log, log[-3000:]
    assert "what even is microneedling" not in log, "a user's message text reached the log"


def test_health_is_ok_once_the_database_is_back_and_degraded_when_it_goes(
    server: RasaServer, forwarder: TcpForwarder
) -> None:
    forwarder.start()
    status, body = get_json(f"{server.url}/health")
    assert (status, body) == (
        200,
        {"status": "ok", "checks": {"tracker_store": "ok", "action_server": "ok", "database": "ok"}},
    )
    chat = Conversation(server.url)
    answer, _ = chat.say("tell me about microneedling")
    answer, _ = chat.say("how long is the recovery?")
    assert_contains("how long is the recovery?", answer, ["couple of days"])

    forwarder.stop()
    status, body = get_json(f"{server.url}/health")
    assert status == 503 and body["status"] == "degraded", body


def test_health_answers_on_the_channel_path_too(server: RasaServer) -> None:
    status, body = get_json(f"{server.url}/webhooks/health/")
    assert status in (200, 503) and body["status"] in ("ok", "degraded"), body
