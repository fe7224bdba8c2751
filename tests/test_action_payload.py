"""What the Rasa server sends the action server (issue 18): with `enable_selective_domain` on, the
domain goes only to the actions marked `send_domain: true` in domain.yml, which are exactly the
actions whose code reads it; every other action answers without it, on the real action server."""

from __future__ import annotations

import ast
import asyncio
import inspect
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set

import pytest
import yaml
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.forms import ValidationAction

from bot import launcher, settings
from bot.security.action_token import TOKEN_ENV, TOKEN_HEADER
from tests.e2e import ACTION_PYTHON, log_tail
from tooling.ports import free_ports

ROOT = settings.PROJECT_ROOT
DOMAIN = Domain.load(str(ROOT / "domain.yml"))
# What Rasa runs as a RemoteAction: the domain's actions that are not responses (utter_...).
CUSTOM_ACTIONS = sorted(set(DOMAIN.user_actions) - set(DOMAIN.responses))
# rasa_sdk's FormValidationAction reads the form's required slots (domain["forms"]) and the slots
# to validate and extract (domain["slots"]); no other action of PoreGuide reads its domain.
NEEDS_DOMAIN = {"validate_booking_form", "validate_recommendation_form"}


def _registered_actions() -> Dict[str, type]:
    executor = ActionExecutor()
    executor.register_package("actions")
    return {name: type(getattr(action, "__self__", action)) for name, action in executor.actions.items()}


def _action_endpoint(path: Path) -> EndpointConfig:
    found = read_endpoint_config(str(path), "action_endpoint")
    assert found is not None, path
    return found


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("path", ["endpoints.yml", "deploy/endpoints.yml"])
def test_both_endpoint_files_enable_selective_domain(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "token-from-the-environment")
    endpoint = _action_endpoint(ROOT / path)
    assert endpoint.kwargs.get("enable_selective_domain") is True
    if path.startswith("deploy/"):  # the token is still substituted from the environment
        assert endpoint.headers == {TOKEN_HEADER: "token-from-the-environment"}


def test_the_launchers_endpoints_keep_selective_domain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `make chat`, `make serve` and the end-to-end tests give Rasa (bot.launcher.endpoints_file)."""
    monkeypatch.setenv(TOKEN_ENV, "token-from-the-environment")
    endpoint = _action_endpoint(launcher.endpoints_file(5999, tmp_path))
    assert endpoint.kwargs.get("enable_selective_domain") is True
    assert endpoint.url == "http://127.0.0.1:5999/webhook"


def test_the_domain_marks_exactly_those_actions_explicitly() -> None:
    """Not left to Rasa's `validate_` name rule: each is marked `send_domain: true` in domain.yml."""
    listed = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["actions"]
    marked = {name for entry in listed if isinstance(entry, dict) for name, options in entry.items() if options}
    assert marked == NEEDS_DOMAIN
    assert all(entry[name] == {"send_domain": True} for entry in listed if isinstance(entry, dict) for name in entry)


# --------------------------------------------------------------------------- the payloads


@pytest.mark.parametrize("name", CUSTOM_ACTIONS)
def test_rasa_sends_the_domain_exactly_to_the_actions_that_need_it(name: str) -> None:
    tracker = DialogueStateTracker.from_events("payload-test", [ActionExecuted("action_listen")], DOMAIN.slots)
    payload = RemoteAction(name, _action_endpoint(ROOT / "endpoints.yml"))._action_call_format(tracker, DOMAIN)
    assert ("domain" in payload) == (name in NEEDS_DOMAIN)
    if name in NEEDS_DOMAIN:
        assert payload["domain"] == DOMAIN.as_dict()
    assert payload["next_action"] == name and payload["tracker"]["sender_id"] == "payload-test"


def test_every_custom_action_of_the_domain_is_served_by_the_actions_package() -> None:
    assert set(CUSTOM_ACTIONS) == set(_registered_actions())


# --------------------------------------------------------------------------- what the code reads


def _functions_reading_domain(module_path: Path) -> Set[str]:
    """Functions of a module that take a `domain` argument and read it (not only receive it)."""
    readers: Set[str] = set()

    def visit(node: ast.AST, scope: List[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = [*scope, child.name]
                if not isinstance(child, ast.ClassDef):
                    arguments = child.args.args + child.args.kwonlyargs
                    reads = any(
                        isinstance(use, ast.Name) and use.id == "domain" and isinstance(use.ctx, ast.Load)
                        for use in ast.walk(child)
                    )
                    if reads and any(argument.arg == "domain" for argument in arguments):
                        readers.add(".".join(inner))
                visit(child, inner)

    visit(ast.parse(module_path.read_text(encoding="utf-8")), [])
    return readers


def test_no_code_of_the_actions_reads_its_domain_except_to_hand_it_on() -> None:
    """Every action, helper and decorator under actions/ (shared.py and knowledge_access.py included):
    the one function that reads `domain` is the decorator passing it on to the action's own `run`."""
    readers = {
        f"{path.stem}.{function}"
        for path in sorted((ROOT / "actions").glob("*.py"))
        for function in _functions_reading_domain(path)
    }
    assert readers == {"knowledge_access.apologise_if_unavailable.wrapper"}
    wrapper = inspect.getsource(__import__("actions.knowledge_access").knowledge_access.apologise_if_unavailable)
    assert "return await run(self, dispatcher, tracker, domain)" in wrapper


def test_the_actions_that_need_the_domain_are_the_form_validators() -> None:
    """rasa_sdk's ValidationAction (FormValidationAction's base) is the library code that reads it."""
    actions = _registered_actions()
    validators = {name for name, cls in actions.items() if issubclass(cls, ValidationAction)}
    assert validators == NEEDS_DOMAIN
    assert all(issubclass(cls, Action) for cls in actions.values())
    assert "domain" in inspect.getsource(ValidationAction.run)


# --------------------------------------------------------------------------- the real action server


def test_rasa_sdks_own_executor_refuses_a_call_without_domain_and_the_plugin_serves_it() -> None:
    """Why bot.action_server.accept_calls_without_domain exists: rasa-sdk 3.21 answers 449 to a call
    without domain or digest (Rasa 3.6 never retries), rasa-sdk 3.6 gave such a call `{}`."""
    script = (
        "import asyncio\n"
        "from rasa_sdk import __version__\n"
        "from rasa_sdk.executor import ActionExecutor\n"
        "call = {'next_action': 'action_clear_red_flag', 'tracker': {'sender_id': 'x', 'slots': {},\n"
        "        'latest_message': {}, 'events': [], 'paused': False, 'followup_action': None,\n"
        "        'active_loop': {}, 'latest_action_name': None}}\n"
        "def outcome():\n"
        "    executor = ActionExecutor()\n"
        "    executor.register_package('actions')\n"
        "    try:\n"
        "        return [m.get('response') for m in asyncio.run(executor.run(call)).responses]\n"
        "    except Exception as error:\n"
        "        return type(error).__name__\n"
        "from rasa_sdk.executor import ActionExecutor as own\n"
        "before = getattr(own, 'update_and_return_domain', None)\n"
        "print(__version__)\n"
        "if before is not None:\n"
        "    try:\n"
        "        before(own(), call, 'action_clear_red_flag')\n"
        "        print('accepted')\n"
        "    except Exception as error:\n"
        "        print(type(error).__name__)\n"
        "else:\n"
        "    print('no check')\n"
        "print(outcome())\n"
    )
    done = subprocess.run(
        [ACTION_PYTHON, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    version, before, after = done.stdout.strip().splitlines()[-3:]
    if version.startswith("3.6."):
        assert before == "no check"
    else:
        assert before == "ActionMissingDomainException", version
    assert after == "['utter_glad_you_are_fine']"


@pytest.fixture(scope="module")
def action_server_url(tmp_path_factory: pytest.TempPathFactory, e2e_database_url: str) -> Iterator[str]:
    (port,) = free_ports(1)
    log = tmp_path_factory.mktemp("payload_actions") / "actions.log"
    try:
        with launcher.action_server(port, log, extra_env={"DATABASE_URL": e2e_database_url}, python=ACTION_PYTHON):
            yield f"http://127.0.0.1:{port}/webhook"
    except RuntimeError as error:
        pytest.fail(f"{error}\n{log_tail(log)}", pytrace=False)


def _tracker() -> DialogueStateTracker:
    """A conversation just asked about microneedling's recovery (what most actions look at)."""
    return DialogueStateTracker.from_events(
        "payload-test-real-server",
        [
            ActionExecuted("action_listen"),
            UserUttered(
                "how long is recovery after microneedling?",
                intent={"name": "ask_recovery", "confidence": 1.0},
                entities=[{"entity": "treatment", "value": "microneedling", "start": 26, "end": 39}],
            ),
        ],
        DOMAIN.slots,
    )


@pytest.mark.server
@pytest.mark.parametrize("name", sorted(set(CUSTOM_ACTIONS) - NEEDS_DOMAIN))
def test_each_action_without_the_domain_answers_on_the_real_action_server(action_server_url: str, name: str) -> None:
    """Through Rasa's own RemoteAction with the committed endpoint options: no domain is sent, and the
    action answers (a message or a slot), on the action server `make serve` runs."""
    options = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))["action_endpoint"]
    endpoint = EndpointConfig(
        **{**options, "url": action_server_url, "headers": {TOKEN_HEADER: launcher.action_token()}}
    )
    action = RemoteAction(name, endpoint)
    tracker = _tracker()
    assert "domain" not in action._action_call_format(tracker, DOMAIN)
    events: List[Any] = asyncio.run(
        action.run(CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(DOMAIN.responses), tracker, DOMAIN)
    )
    assert any(isinstance(event, (BotUttered, SlotSet)) for event in events), events
    texts = [event.text or "" for event in events if isinstance(event, BotUttered)]
    assert not any("technical problem" in text.lower() for text in texts), texts
