"""Every place PoreGuide changes what Rasa 3.6.21 itself does, one module each in this folder, each
opening with the Rasa behaviour it changes and why. `LEANS_ON` below is the list a Rasa upgrade
must re-check: for each module, the Rasa code it replaces, skips or relies on. tests/test_rasa_overrides.py
pins that code (a hash of its source as read for 3.6.21), so an upgrade fails there, loudly, and nowhere else.

Configured by name in Rasa's files: `socketio_channel.WebsiteInput` and `rest_channel.GuardedRestInput`
(credentials.yml), `sql_tracker_store.PoreGuideTrackerStore` and `lock_store.PoreGuideLockStore`
(endpoints.yml). Installed in the process: `action_reply_validation`, `action_keepalive`,
`model_loading`, `rule_lookup`, `event_types` and `graph_run` (by `bot.rasa_run`), `shell_buttons` and
`model_loading` (by `bot.shell`), `sql_session_scope` (by the tracker store).

Two uses of Rasa's public channel API live with the channel code and are pinned too:
`bot.channels.reply_guard` counts a turn's replies by wrapping one output channel's `send_response`,
and `bot.channels.edge.UnusableInput` relies on `UserMessage` passing its text on unchanged.
`bot.security.intent_parse_warning` relies on the wording of one Rasa warning (log privacy).
`bot.nlu.sentence_features` (NLU components named in config.yml) relies on DIET's sequence layer
ignoring token features at the sentence position without transformer layers, and replaces how
Rasa's CountVectorsFeaturizer makes the text's features.
On the action server (rasa-sdk 3.21, its own venv, where Rasa's code is not installed to pin):
`bot.action_server.accept_calls_without_domain` serves Rasa 3.6's calls that carry no domain, which
rasa-sdk's `ActionExecutor.update_and_return_domain` would answer with 449; tests/test_action_payload.py
fails if rasa-sdk stops refusing them or the change stops serving them."""

from __future__ import annotations

from typing import Dict, Tuple

# module -> the Rasa code it leans on, as "module:qualified.name".
LEANS_ON: Dict[str, Tuple[str, ...]] = {
    "bot.rasa_overrides.action_reply_validation": (
        "rasa.core.actions.action:RemoteAction._validate_action_result",
        "rasa.core.actions.action:RemoteAction.action_response_format_spec",
    ),
    "bot.rasa_overrides.action_keepalive": (
        "rasa.utils.endpoints:EndpointConfig.request",
        "rasa.utils.endpoints:EndpointConfig.session",
        "rasa.core.actions.action:RemoteAction.__init__",
        "rasa.core.actions.action:RemoteAction.run",
        "rasa.core.run:serve_application",
        "rasa.core.run:close_resources",
    ),
    "bot.rasa_overrides.lock_store": (
        "rasa.core.lock_store:LockStore.lock",
        "rasa.core.lock_store:LockStore._acquire_lock",
    ),
    "bot.rasa_overrides.rest_channel": (
        "rasa.core.channels.rest:RestInput.blueprint",
        "rasa.core.channels.rest:RestInput.stream_response",
    ),
    "bot.rasa_overrides.shell_buttons": (
        "rasa.core.channels.console:_get_user_input",
        "rasa.core.channels.console:record_messages",
    ),
    "bot.rasa_overrides.socketio_channel": (
        "rasa.core.channels.socketio:SocketIOInput.__init__",
        "rasa.core.channels.socketio:SocketIOInput.blueprint",
        "rasa.core.channels.socketio:SocketBlueprint",
        "rasa.core.channels.socketio:SocketIOOutput",
    ),
    "bot.rasa_overrides.model_loading": (
        "rasa.utils.tensorflow.models:RasaModel.load",
        "rasa.utils.tensorflow.models:RasaModel._rasa_predict",
        "rasa.nlu.classifiers.diet_classifier:DIET.prepare_for_predict",
    ),
    "bot.rasa_overrides.rule_lookup": (
        "rasa.core.policies.rule_policy:RulePolicy._get_possible_keys",
        "rasa.core.policies.rule_policy:RulePolicy._is_rule_applicable",
        "rasa.core.policies.rule_policy:RulePolicy._does_rule_match_state",
        "rasa.core.policies.rule_policy:RulePolicy._rule_key_to_state",
    ),
    "bot.rasa_overrides.event_types": ("rasa.shared.core.events:Event.resolve_by_type",),
    "bot.rasa_overrides.graph_run": (
        "rasa.engine.runner.dask:DaskGraphRunner.run",
        "rasa.engine.runner.dask:DaskGraphRunner._add_inputs_to_graph",
        "rasa.engine.runner.dask:DaskGraphRunner._build_dask_graph",
        "rasa.engine.graph:GraphNode.__call__",
    ),
    "bot.rasa_overrides.sql_session_scope": (
        "rasa.core.tracker_store:SQLTrackerStore.session_scope",
        "rasa.core.tracker_store:ensure_schema_exists",
    ),
    "bot.rasa_overrides.sql_tracker_store": (
        "rasa.core.tracker_store:SQLTrackerStore.__init__",
        "rasa.core.tracker_store:SQLTrackerStore._retrieve",
        "rasa.core.tracker_store:SQLTrackerStore._event_query",
        "rasa.core.tracker_store:SQLTrackerStore.save",
        "rasa.core.tracker_store:SQLTrackerStore._additional_events",
        "rasa.core.tracker_store:SQLTrackerStore.keys",
    ),
    "bot.channels.reply_guard": ("rasa.core.channels.channel:OutputChannel.send_response",),
    "bot.nlu.sentence_features": (
        "rasa.utils.tensorflow.rasa_layers:RasaSequenceLayer.call",
        "rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer:CountVectorsFeaturizer._create_features",
    ),
    "bot.channels.edge": ("rasa.core.channels.channel:UserMessage.__init__",),
    "bot.security.intent_parse_warning": (
        "rasa.shared.core.training_data.story_reader.yaml_story_reader:YAMLStoryReader.unpack_regex_message",
        "rasa.shared.core.training_data.story_reader.yaml_story_reader:YAMLStoryReader._intent_name_from_regex_match",
        "rasa.shared.core.training_data.story_reader.yaml_story_reader:YAMLStoryReader._entities_from_regex_match",
    ),
}
