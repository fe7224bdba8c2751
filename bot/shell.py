"""`python -m bot.shell [rasa shell options]`: `rasa shell` as `make chat` opens it.

Two differences from plain `rasa shell`, both for the person at the terminal: buttons are numbered
choices that never swallow typed text (`bot.rasa_overrides.shell_buttons`), and the libraries'
deprecation notices (TensorFlow, SQLAlchemy, pkg_resources, ...) are not printed before the prompt.
Rasa's own warnings about the project (a missing response, a bad story) still show."""
from __future__ import annotations

import sys
import warnings

LIBRARY_NOTICES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning, ImportWarning)


def quiet_library_notices() -> None:
    """Hide the notice categories libraries emit on import; keep every other warning."""
    for category in LIBRARY_NOTICES:
        warnings.filterwarnings("ignore", category=category)


def main() -> None:
    quiet_library_notices()
    from bot.rasa_overrides import shell_buttons
    from bot.security import log_privacy

    log_privacy.install()
    shell_buttons.install()
    sys.argv = ["rasa", "shell", *sys.argv[1:]]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
