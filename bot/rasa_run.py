"""`python -m bot.rasa_run run ...` is `rasa run ...` plus the switches of
`bot.security.rasa_api`, added inside the process from the environment: API tokens and JWT
secrets never appear on a command line, where `ps` would show them to every local user. The log
privacy filter (`bot.security.log_privacy`) is installed before Rasa writes its first line, and the
Rasa overrides that only change speed or memory (`bot.rasa_overrides.action_reply_validation`,
`bot.rasa_overrides.action_keepalive`, `bot.rasa_overrides.model_loading`,
`bot.rasa_overrides.rule_lookup`, `bot.rasa_overrides.event_types`, `bot.rasa_overrides.graph_run`)
are applied."""

from __future__ import annotations

import os
import sys

from bot.rasa_overrides import (
    action_keepalive,
    action_reply_validation,
    event_types,
    graph_run,
    model_loading,
    rule_lookup,
)
from bot.security import log_privacy
from bot.security.rasa_api import rasa_run_arguments


def install_overrides() -> None:
    """What every served Rasa process installs before Rasa starts (also the bench's in-process turn
    profile, so it measures the bot as served)."""
    log_privacy.install()
    action_reply_validation.install()
    action_keepalive.install()
    model_loading.install()
    rule_lookup.install()
    event_types.install()
    graph_run.install()


def main() -> None:
    install_overrides()
    sys.argv = ["rasa", *sys.argv[1:], *rasa_run_arguments(os.environ)]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
