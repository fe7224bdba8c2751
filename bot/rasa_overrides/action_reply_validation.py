"""Rasa's check of action-server replies, with a validator built once instead of the metaschema check per reply.

Rasa changed: `rasa.core.actions.action.RemoteAction._validate_action_result` (3.6.21) calls
`jsonschema.validate(result, RemoteAction.action_response_format_spec())` after every custom
action. `jsonschema.validate` first checks the schema itself against the JSON-Schema metaschema
(`check_schema`), then builds a validator; the schema never changes, yet that check was a quarter of
the Rasa server's work in a turn (py-spy profile, 2026-11-26, issue 18).

Here the schema is checked and the validator built on first use; every reply is then validated
exactly as `jsonschema.validate` does (the best-matching error of `iter_errors`), and an invalid
reply raises the same `ValidationError` with the same hint Rasa appends."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict

from jsonschema import exceptions, validators
from jsonschema.protocols import Validator
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

RASA_HINT = (
    ". Failed to validate Action server response from API, make sure your response from the Action "
    f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
)


@lru_cache(maxsize=1)
def reply_validator() -> Validator:
    """The validator of Rasa's action-reply schema; the schema is checked once, here."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(_action: RemoteAction, result: Dict[str, Any]) -> bool:
    """Rasa's `_validate_action_result` with the validator built once."""
    error = exceptions.best_match(reply_validator().iter_errors(result))
    if error is not None:
        error.message += RASA_HINT
        raise error
    return True


def install() -> None:
    """Replace Rasa's method in this process (the Rasa server's, see bot.rasa_run)."""
    RemoteAction._validate_action_result = validate_action_result
