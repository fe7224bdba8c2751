"""PoreGuide's knowledge action timed alone, called over HTTP exactly as Rasa calls it (same
endpoint, headers and a full domain in the payload): splits a turn's latency between the custom
action and the rest (NLU, policies, tracker store)."""

from __future__ import annotations

import json
import re
import statistics
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

import yaml

from bot import settings
from tooling.benchmarks.processes import BenchmarkError

ACTION = "action_answer_treatment_fact"
QUESTION = {
    "text": "how long is recovery after microneedling?",
    "intent": {"name": "ask_recovery", "confidence": 1.0},
    "entities": [{"entity": "treatment", "value": "microneedling"}],
}
TIMEOUT = 30.0


def action_endpoint(endpoints: Path, env: Mapping[str, str]) -> Tuple[str, Dict[str, str]]:
    """URL and headers (with `${VAR}` filled in from `env`, as Rasa does) of the action endpoint."""
    config = (yaml.safe_load(endpoints.read_text(encoding="utf-8")) or {})["action_endpoint"]
    headers = {
        name: re.sub(r"\$\{(\w+)\}", lambda match: env.get(match.group(1), ""), str(value))
        for name, value in (config.get("headers") or {}).items()
    }
    return config["url"], headers


def _payload() -> Dict[str, Any]:
    import rasa
    from rasa.shared.core.domain import Domain

    tracker = {
        "sender_id": "bench-action",
        "slots": {"treatment": "microneedling"},
        "latest_message": QUESTION,
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    domain = Domain.load(str(settings.PROJECT_ROOT / "domain.yml")).as_dict()
    return {
        "next_action": ACTION,
        "sender_id": "bench-action",
        "tracker": tracker,
        "domain": domain,
        "version": rasa.__version__,
    }


def action_call_p50_ms(url: str, headers: Dict[str, str], calls: int) -> float:
    """Median milliseconds of `calls` calls of the knowledge action; each must answer with a message."""
    body = json.dumps(_payload()).encode("utf-8")
    timings = []
    for _ in range(calls):
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                answer = json.loads(response.read().decode("utf-8"))
        except OSError as error:
            raise BenchmarkError(f"calling {ACTION} on {url} failed: {error}") from error
        timings.append((time.perf_counter() - started) * 1000)
        if not answer.get("responses"):
            raise BenchmarkError(f"{ACTION} answered nothing: {answer}")
    return round(statistics.median(timings), 1)
