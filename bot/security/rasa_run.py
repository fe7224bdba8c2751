"""`python -m bot.security.rasa_run run ...` is `rasa run ...` plus the switches of
`bot.security.rasa_api`, added inside the process from the environment: API tokens and JWT
secrets never appear on a command line, where `ps` would show them to every local user."""
from __future__ import annotations

import os
import sys

from bot.security.rasa_api import rasa_run_arguments


def main() -> None:
    sys.argv = ["rasa", *sys.argv[1:], *rasa_run_arguments(os.environ)]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
