"""PoreGuide's overrides of Rasa internals (bot/rasa_overrides/): each one still does its job, and
the Rasa code it replaces or leans on is exactly the code that was read for it. A Rasa upgrade that
changes that code fails here, so the override is re-checked (and perhaps dropped) on purpose."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import importlib
import inspect
import logging
import warnings
from pathlib import Path
from typing import Any, Callable

import pytest
import rasa
from rasa.core.actions.action import RemoteAction
from rasa.core.channels import console
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.tensorflow.models import RasaModel

from bot import settings
from bot.persistence.errors import TrackerStoreUnavailable
from bot.persistence.health import HealthRegistry
from bot.rasa_overrides import (
    LEANS_ON,
    action_reply_validation,
    event_types,
    graph_run,
    model_loading,
    rule_lookup,
    shell_buttons,
    sql_session_scope,
)
from bot.rasa_overrides.sql_tracker_store import PoreGuideTrackerStore
from bot.security import intent_parse_warning, log_privacy
from tests.persistence_fixtures import tracker_postgres_url  # noqa: F401 - fixture

OVERRIDES_ROOM = settings.PROJECT_ROOT / "bot" / "rasa_overrides"
DOMAIN = Domain.load(str(settings.PROJECT_ROOT / "domain.yml"))

# sha256 of inspect.getsource(...) of the Rasa 3.6.21 code each override was written against
# (bot.rasa_overrides.LEANS_ON says which override leans on which).
PINNED = {
    "rasa.core.actions.action:RemoteAction.__init__": (
        "69103389ee02de80ac78baf49a0b7079d291ed51b70fdf9ee5ddb1684d86109c"
    ),
    "rasa.core.actions.action:RemoteAction.run": ("ccabf6f1160d527a157fad5bd285ce69e8221b1bcad23f8a61499b4360a1c17e"),
    "rasa.core.actions.action:RemoteAction._validate_action_result": (
        "f8cdb4be6812396167ced74161b2ccd65c5ea676ad86d7d359d8c322d9d8dc42"
    ),
    "rasa.core.actions.action:RemoteAction.action_response_format_spec": (
        "091b74aa3738d1262cf3c028386aaf9dd4f0d5c1374b62392411d70a79104a46"
    ),
    "rasa.core.channels.channel:OutputChannel.send_response": (
        "dfa5294a87fcab23d43435e6b1a46f281cf793a04bfe30eef1060d5c155e9330"
    ),
    "rasa.core.channels.channel:UserMessage.__init__": (
        "1a09604afc04796ed6fe017bf4711b64c8e3600549315091fc6fcbfbb4ebda66"
    ),
    "rasa.core.channels.console:_get_user_input": ("72943a5ff71d48f4e72d48b8ac518f1ec486d056a7498a358427258157210440"),
    "rasa.core.channels.console:record_messages": ("fc840eb6c2689eee402b67c5916fcb0f2756a91d89e6c37b59e3c810540e7184"),
    "rasa.core.channels.rest:RestInput.blueprint": ("886a9338e4c2505a0d2e70242c27887311d1529a18037dbd6d1dbfe77f699d0f"),
    "rasa.core.channels.rest:RestInput.stream_response": (
        "1fe0bdd810046ffed62acb0cd99cf14541bde34b97957374a165c006739a1f2b"
    ),
    "rasa.core.channels.socketio:SocketBlueprint": ("726fa91f417575e94479db09d97879830ce874b5943dd8dd7db856b582c0ff36"),
    "rasa.core.channels.socketio:SocketIOInput.__init__": (
        "d9f5d7dbc59ba16b80d0aadf971b73512185ed7229c4959e1da367fd43d496de"
    ),
    "rasa.core.channels.socketio:SocketIOInput.blueprint": (
        "1246d69fa05c3b1f3dcc77d4ef78e992674cc3d9f7077e9793fd578563b9ee73"
    ),
    "rasa.core.channels.socketio:SocketIOOutput": ("370dc3e8aca97964842123b13ac37e110a66b9513d43b5bffe08902c64ca454e"),
    "rasa.core.lock_store:LockStore._acquire_lock": (
        "ead2fff373291c24619f2a2b53453f64ed2975ed68f53dce0e56041061356f05"
    ),
    "rasa.core.lock_store:LockStore.lock": ("8b9b716c031a34445100c32e7123859553831d2ac4747ae2b47a581f137ea371"),
    "rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer:CountVectorsFeaturizer._create_features": (
        "d841f50f6649704ad33893be4a6e5b4197c2c4df53432ae43e2801bc2fb18783"
    ),
    "rasa.nlu.classifiers.diet_classifier:DIET.prepare_for_predict": (
        "1188c112792151e136febedc624208009641ea3b2666e6ebac5148c4c13b7ac0"
    ),
    "rasa.utils.tensorflow.models:RasaModel.load": ("84fd81c0fdd01a8048de2d9b5b3022bdbf1e155f7b4d67737eb51ecb0787d292"),
    "rasa.utils.tensorflow.models:RasaModel._rasa_predict": (
        "7f745b0f9cb647c9df9e5b04b318a7b93709daf9460bad4373970c6cf9f04d8f"
    ),
    "rasa.utils.tensorflow.rasa_layers:RasaSequenceLayer.call": (
        "3217207e10e361d874e40581638335baa937fd19a2b34608d04baf69e6d7ccd3"
    ),
    "rasa.core.policies.rule_policy:RulePolicy._get_possible_keys": (
        "2915fd81711e194c6d667728e00bd0e51e9c1c2791a0be14c55f0ef9938f9936"
    ),
    "rasa.core.policies.rule_policy:RulePolicy._is_rule_applicable": (
        "64a108b016b46e573d6020b755a6036439dc207a364b45c9ea5dcb0f18dc7068"
    ),
    "rasa.core.policies.rule_policy:RulePolicy._does_rule_match_state": (
        "d3109c1a97de319ceee17570d2d96b51c2fa0006379c5a491d5ed7df136666a7"
    ),
    "rasa.core.policies.rule_policy:RulePolicy._rule_key_to_state": (
        "b91b949bbccbff0bdd67604e957b8884becef48ebc634c655c01bb5e6e93677e"
    ),
    "rasa.shared.core.events:Event.resolve_by_type": (
        "b5cf570fa7f286c7059ec73d8880528d03a78b28cf4e80285a46079c0fa65968"
    ),
    "rasa.engine.runner.dask:DaskGraphRunner.run": ("45f0f52f574f3aa9546a552bf671183e171092c18b66e97f5771a7fa295de37e"),
    "rasa.engine.runner.dask:DaskGraphRunner._add_inputs_to_graph": (
        "d04a0ca2df6241c16997b89d63e2ca89cd1d43bd5f9920843a2a86cb4286ac73"
    ),
    "rasa.engine.runner.dask:DaskGraphRunner._build_dask_graph": (
        "5bb99f974d512a36acb61caaf77aafc851b90c04ce4d02c262f230c75086cbee"
    ),
    "rasa.engine.graph:GraphNode.__call__": ("66127a2bfb6fcf1ee12e2556e95f6b8e691f53528b206c1e2745b05ab39d0e19"),
    "rasa.core.run:close_resources": ("bc3d36e8149e84cd906082694203f0f78bbdb09544be8753af472ff59cc284e9"),
    "rasa.core.run:serve_application": ("fa80588d9e008b67948290d1da64c97fbab5a1a8069b880c18cc3c8399ef9c2b"),
    "rasa.core.tracker_store:SQLTrackerStore.__init__": (
        "64e704d159dfa35b86175cccdc9d08b05cbf91b2e0779bccf115671106ad9314"
    ),
    "rasa.core.tracker_store:SQLTrackerStore._event_query": (
        "cd44f7901b860bfd598a813bde17d0d5b0d7bab129feaf76bb2dca87d628625b"
    ),
    "rasa.core.tracker_store:SQLTrackerStore._additional_events": (
        "d22f99eb863acb07afee63d9fe3a04ca8464251e67a43eb7d36c2d65ffc1653f"
    ),
    "rasa.core.tracker_store:SQLTrackerStore._retrieve": (
        "c8adbf6f4b61ddd1124690944ebdf2ebc82d0723bd07c6704caab0b80120a0ef"
    ),
    "rasa.core.tracker_store:SQLTrackerStore.keys": (
        "a9ae29732f2e3e6a434315274db9e03c4ccaba5d1dfe3a9cb55b00b4d5c1d2c8"
    ),
    "rasa.core.tracker_store:SQLTrackerStore.save": (
        "57165e46eab3de0866e77f03df0bf7fd5eac2c1de617ed431b934c9a4edfeef6"
    ),
    "rasa.core.tracker_store:SQLTrackerStore.session_scope": (
        "6775e1ede3ec8d2d1ba466d06c850b44201630347ccde7f91c33d3c1a2554818"
    ),
    "rasa.core.tracker_store:ensure_schema_exists": (
        "deb85efe22aad4a510c15eca788fd4f10b45ee7912f70591f4c2626e82fefe22"
    ),
    "rasa.utils.endpoints:EndpointConfig.request": ("ccdb778aed8208e23cde3c3f47eac7fbbbb735dac8f7ef7254d54451c64ad608"),
    "rasa.utils.endpoints:EndpointConfig.session": ("e55aa13d9d4fb4bc440ac33b870a97ee162b76dda7ccb6bf68433567475fdffb"),
    "rasa.shared.core.training_data.story_reader.yaml_story_reader:YAMLStoryReader._entities_from_regex_match": (
        "c654a66d095fcd1c0a2e44eb5a8fe8af357d8f4091be470540e831a45c97a0b1"
    ),
    "rasa.shared.core.training_data.story_reader.yaml_story_reader:YAMLStoryReader._intent_name_from_regex_match": (
        "617b7899c40ac0c8ef2486445f94993b85c65a71542fc2943c96d6bfdcf734c5"
    ),
    "rasa.shared.core.training_data.story_reader.yaml_story_reader:YAMLStoryReader.unpack_regex_message": (
        "bf81f8a66c2c3e526dd4eba42de36f716b7c5f9fafbe91ece460bcb6e157fa91"
    ),
}


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def _source_hash(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode("utf-8")).hexdigest()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracker.db'}"
    return request.getfixturevalue("tracker_postgres_url")


# --------------------------------------------------------------------------- the Rasa code read


def test_rasa_is_the_version_the_overrides_were_written_for() -> None:
    assert rasa.__version__ == "3.6.21"


@pytest.mark.parametrize("name", sorted(PINNED))
def test_the_rasa_code_an_override_leans_on_is_unchanged(name: str) -> None:
    assert _source_hash(_rasa_object(name)) == PINNED[name], (
        f"Rasa's {name} changed: re-read it and re-check {_leaning_on(name)} before updating this hash"
    )


def test_every_module_in_the_overrides_room_is_listed_with_what_it_leans_on() -> None:
    room = {f"bot.rasa_overrides.{path.stem}" for path in OVERRIDES_ROOM.glob("*.py") if path.stem != "__init__"}
    assert room <= set(LEANS_ON), f"not in bot.rasa_overrides.LEANS_ON: {sorted(room - set(LEANS_ON))}"
    assert all(LEANS_ON[module] for module in room)


def test_everything_listed_is_pinned_and_everything_pinned_is_listed() -> None:
    listed = {name for names in LEANS_ON.values() for name in names}
    assert listed == set(PINNED)


@pytest.mark.parametrize("module", sorted(module for module in LEANS_ON if module.startswith("bot.rasa_overrides.")))
def test_each_override_opens_with_the_rasa_behaviour_it_changes(module: str) -> None:
    opening = (importlib.import_module(module).__doc__ or "").split("\n\n")[0]
    assert "Rasa" in opening, f"{module}: its docstring must open with the Rasa behaviour it changes"


def _rasa_object(name: str) -> Any:
    module, qualified = name.split(":")
    found: Any = importlib.import_module(module)
    for part in qualified.split("."):
        found = getattr(found, part)
    return found


def _leaning_on(name: str) -> str:
    return ", ".join(module for module, names in LEANS_ON.items() if name in names)


def test_rasas_own_session_scope_still_exits_on_any_value_error(tmp_path: Path) -> None:
    """Why `sql_session_scope` exists: if this stops failing, Rasa fixed it and the override can go."""
    store = PoreGuideTrackerStore(DOMAIN, host=f"sqlite:///{tmp_path / 'tracker.db'}", health=HealthRegistry())
    with pytest.raises(SystemExit):
        with SQLTrackerStore.session_scope(store):
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")


def test_rasas_parse_warning_quotes_the_whole_message() -> None:
    """Why `intent_parse_warning` exists, and that its marker is what Rasa writes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        YAMLStoryReader.unpack_regex_message(Message({TEXT: "/my email is someone@example.com"}), DOMAIN)
    texts = [str(warning.message) for warning in caught]
    assert any(
        text.startswith(intent_parse_warning.WARNING_OPENING) and "someone@example.com" in text for text in texts
    ), texts


# --------------------------------------------------------------------------- sql_session_scope


def test_a_value_error_inside_the_session_no_longer_exits(tmp_path: Path) -> None:
    store = PoreGuideTrackerStore(DOMAIN, host=f"sqlite:///{tmp_path / 'tracker.db'}", health=HealthRegistry())
    with pytest.raises(ValueError):
        with store.session_scope():
            raise ValueError("a value the driver refused")


@pytest.mark.parametrize("sender", ["\ud800", "a\udfffb", "nul\x00inside"])
def test_unstorable_sender_ids_never_end_the_process(store_url: str, sender: str) -> None:
    """The request of issue 13 ("\\ud800" as the sender) on SQLite and PostgreSQL: the store refuses
    it as unavailable for that turn, Rasa's fail-safe store answers from memory, nothing exits, and
    /health stays ok (the database is fine)."""
    health = HealthRegistry()
    store = PoreGuideTrackerStore(DOMAIN, host=store_url, health=health)
    tracker = store.init_tracker(sender)
    tracker.update(UserUttered("hello"))
    if "\x00" in sender and store_url.startswith("sqlite"):
        pytest.skip("SQLite stores a NUL; only the PostgreSQL driver refuses it")
    with pytest.raises(TrackerStoreUnavailable):
        run(store.retrieve(sender))
    with pytest.raises(TrackerStoreUnavailable):
        run(store.save(tracker))
    fail_safe = FailSafeTrackerStore(store)
    assert run(fail_safe.retrieve(sender)) is None
    run(fail_safe.save(tracker))  # into memory
    assert health.report()["status"] == "ok", health.report()


def test_a_missing_postgres_schema_is_reported_instead_of_exiting(
    tracker_postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    monkeypatch.setenv("POSTGRESQL_SCHEMA", "poreguide_no_such_schema")
    health = HealthRegistry()
    # Rasa checks the schema only for the plain "postgresql" driver name (is_postgresql_url).
    url = tracker_postgres_url.replace("postgresql+psycopg2://", "postgresql://")
    store = PoreGuideTrackerStore(DOMAIN, host=url, health=health)
    store._tables_ready = True  # past table creation, straight to Rasa's schema check
    with pytest.raises(sql_session_scope.MissingSchema):
        with store.session_scope():
            pass
    with pytest.raises(TrackerStoreUnavailable) as raised:
        run(store.retrieve("someone"))
    assert "MissingSchema" in str(raised.value)
    assert health.report()["status"] == "degraded"


# --------------------------------------------------------------------------- intent_parse_warning


def test_the_parse_warning_keeps_only_its_text_free_opening() -> None:
    line = (
        "yaml_story_reader.py:651: UserWarning: Failed to parse arguments in line '/my email is "
        "someone@example.com'. Failed to interpret some parts. Continuing without @example.com."
    )
    cleaned = intent_parse_warning.without_message_text(line)
    assert "someone" not in cleaned and "example.com" not in cleaned and "my email" not in cleaned
    assert cleaned.startswith("yaml_story_reader.py:651: UserWarning: Failed to parse arguments")
    assert intent_parse_warning.without_message_text("an ordinary line") == "an ordinary line"


def test_rasas_parse_warning_reaches_the_log_without_the_message(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), warnings.catch_warnings():
        warnings.simplefilter("always")
        logging.captureWarnings(False)  # pytest records warnings itself: hook logging in again, as a server does
        log_privacy.install()
        try:
            YAMLStoryReader.unpack_regex_message(Message({TEXT: "/my phone is +1 555 013 7799 please"}), DOMAIN)
        finally:
            logging.captureWarnings(False)
    assert "Failed to parse arguments" in caplog.text, caplog.text
    assert "555" not in caplog.text and "please" not in caplog.text, caplog.text


# --------------------------------------------------------------------------- action_reply_validation

ACTION_REPLIES = [
    {
        "events": [{"event": "slot", "name": "treatment", "value": "microneedling", "timestamp": None}],
        "responses": [{"text": "Microneedling – recovery: ..."}],
    },
    {"events": [], "responses": []},
    {},
    {"events": [{"event": "slot"}], "responses": []},  # a slot event without its name
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": "not a list", "responses": []},
    {"events": [], "responses": ["not an object"]},
]


def _outcome(validate: Callable[[Any], bool], reply: Any) -> str:
    from jsonschema import ValidationError

    try:
        return f"valid: {validate(reply)}"
    except ValidationError as error:
        return f"invalid: {error.message} at {list(error.absolute_path)}"


@pytest.mark.parametrize("reply", ACTION_REPLIES)
def test_replies_are_judged_exactly_as_rasa_judges_them(reply: Any) -> None:
    """Same verdict and same error (message with Rasa's hint, path) as Rasa's own method."""
    action = RemoteAction("action_answer_treatment_fact", None)
    ours = _outcome(lambda value: action_reply_validation.validate_action_result(action, value), reply)
    assert ours == _outcome(lambda value: RemoteAction._validate_action_result(action, value), reply)
    assert ours.startswith("valid") == (reply in ACTION_REPLIES[:3])


def test_rasas_own_validation_checks_the_schema_on_every_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    """Why `action_reply_validation` exists: Rasa re-checks the schema against the metaschema each
    time; ours checks it once, however many replies it validates."""
    from jsonschema.validators import Draft202012Validator, validator_for

    checks = []
    validator_class = validator_for(RemoteAction.action_response_format_spec())
    original = validator_class.check_schema
    monkeypatch.setattr(
        validator_class,
        "check_schema",
        classmethod(lambda cls, schema, *args, **kwargs: (checks.append(1), original(schema, *args, **kwargs))[1]),
    )
    action = RemoteAction("action_answer_treatment_fact", None)
    for _ in range(3):
        RemoteAction._validate_action_result(action, ACTION_REPLIES[0])
    assert len(checks) == 3 and validator_class is Draft202012Validator
    action_reply_validation.reply_validator.cache_clear()
    for _ in range(3):
        action_reply_validation.validate_action_result(action, ACTION_REPLIES[0])
    assert len(checks) == 4


def test_the_rasa_server_runs_with_the_validator_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m bot.rasa_run` (what the launcher starts) installs the override."""
    import rasa.__main__

    from bot import rasa_run

    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    monkeypatch.setattr(RasaModel, "load", RasaModel.__dict__["load"])
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", RulePolicy._get_possible_keys)
    monkeypatch.setattr(DaskGraphRunner, "run", DaskGraphRunner.run)
    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])
    monkeypatch.setattr(rasa.__main__, "main", lambda: None)
    monkeypatch.setattr(log_privacy, "install", lambda: None)
    monkeypatch.setattr("sys.argv", ["rasa_run", "run"])
    rasa_run.main()
    assert RemoteAction._validate_action_result is action_reply_validation.validate_action_result
    assert RasaModel.__dict__["load"].__func__ is model_loading.load_for_prediction
    assert RulePolicy._get_possible_keys is rule_lookup.possible_keys
    assert DaskGraphRunner.run is graph_run.run
    assert Event.__dict__["resolve_by_type"].__func__ is event_types.resolve_by_type


# --------------------------------------------------------------------------- shell_buttons

GREETING = {
    "text": "Hi! I'm PoreGuide.",
    "buttons": [
        {"title": "What are my options?", "payload": "/ask_options"},
        {"title": "Book a consultation", "payload": "/book_consultation"},
    ],
}


class _TypedAnswer:
    """questionary's prompt answered with `typed` (what a person types at `Your input ->`)."""

    def __init__(self, typed: str, seen: list) -> None:
        self.typed, self.seen = typed, seen

    def __call__(self, *args: Any, **kwargs: Any) -> "_TypedAnswer":
        self.seen.append(("text", args, kwargs))
        return self

    async def ask_async(self) -> str:
        return self.typed


def test_rasas_shell_turns_buttons_into_a_menu_that_takes_the_keyboard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Why `shell_buttons` exists: Rasa answers the last message's buttons with a select menu."""
    menus: list = []
    monkeypatch.setattr(console.questionary, "select", lambda *args, **kwargs: menus.append(args) or "menu")
    assert console.print_buttons(copy.deepcopy(GREETING), is_latest_message=True) == "menu"
    assert menus and menus[0][0] == GREETING["text"]


@pytest.mark.parametrize(
    "typed, sent",
    [
        ("what is microneedling?", "what is microneedling?"),  # typed text is never swallowed
        ("2", "/book_consultation"),
        (" 1 ", "/ask_options"),
        ("3", "3"),
        ("0", "0"),  # not a choice: sent as typed
    ],
)
def test_the_shell_sends_what_was_typed_or_the_numbered_choice(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, typed: str, sent: str
) -> None:
    seen: list = []
    monkeypatch.setattr(shell_buttons.questionary, "text", _TypedAnswer(typed, seen))
    monkeypatch.setattr(shell_buttons.questionary, "select", lambda *a, **k: pytest.fail("a menu was opened"))
    assert run(shell_buttons.get_user_input(copy.deepcopy(GREETING))) == sent
    printed = capsys.readouterr().out
    assert (
        "Hi! I'm PoreGuide." in printed and "1. What are my options?" in printed and "2. Book a consultation" in printed
    )
    assert seen and seen[0][2]["qmark"] == "Your input ->"


def test_bot_shell_installs_the_numbered_buttons(monkeypatch: pytest.MonkeyPatch) -> None:
    import rasa.__main__

    from bot import shell

    monkeypatch.setattr(console, "_get_user_input", console._get_user_input)
    monkeypatch.setattr(RasaModel, "load", RasaModel.__dict__["load"])
    monkeypatch.setattr(rasa.__main__, "main", lambda: None)
    monkeypatch.setattr(log_privacy, "install", lambda: None)
    monkeypatch.setattr("sys.argv", ["bot.shell", "--port", "5005"])
    with warnings.catch_warnings():
        shell.main()
    import sys

    assert console._get_user_input is shell_buttons.get_user_input
    assert RasaModel.__dict__["load"].__func__ is model_loading.load_for_prediction
    assert sys.argv == ["rasa", "shell", "--port", "5005"]


def test_bot_shell_hides_library_notices_and_keeps_the_projects_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import shell

    shown: list = []
    monkeypatch.setattr(
        warnings, "showwarning", lambda message, category, *rest: shown.append((category, str(message)))
    )
    shell.quiet_library_notices()
    library = "/work/.venv/lib/python3.10/site-packages/pkg_resources/__init__.py"
    warnings.showwarning(DeprecationWarning("declare_namespace"), DeprecationWarning, library, 1)
    warnings.showwarning(FutureWarning("tf"), FutureWarning, library, 1)
    warnings.showwarning(UserWarning("a missing response"), UserWarning, library, 1)
    warnings.showwarning(
        DeprecationWarning("ours"), DeprecationWarning, "/work/main/bot/rasa_overrides/rest_channel.py", 1
    )
    assert shown == [(UserWarning, "a missing response"), (DeprecationWarning, "ours")]
