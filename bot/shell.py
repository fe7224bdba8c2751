"""`python -m bot.shell [rasa shell options]`: `rasa shell` as `make chat` opens it.

Three differences from plain `rasa shell`, all for the person at the terminal: buttons are numbered
choices that never swallow typed text (`bot.rasa_overrides.shell_buttons`), the libraries'
deprecation notices (TensorFlow, SQLAlchemy, pkg_resources, ...) are not printed before the prompt,
and the model loads without a training graph (`bot.rasa_overrides.model_loading`: sooner, smaller).
Rasa's own warnings about the project (a missing response, a bad story) still show."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any, Optional, TextIO, Type

LIBRARY_NOTICES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning, ImportWarning)


def is_library_notice(category: Type[Warning], filename: str) -> bool:
    """A deprecation-style notice raised from an installed library (not from this project)."""
    return issubclass(category, LIBRARY_NOTICES) and "site-packages" in Path(filename).parts


def quiet_library_notices() -> None:
    """Drop library notices where warnings are shown. Filters alone do not hold: an import in Rasa's
    chain replaces `warnings.filters` (seen: the pkg_resources and SQLAlchemy notices came back),
    so the check sits in `showwarning`, around whatever shows warnings now (the log filter's)."""
    show = warnings.showwarning

    def show_unless_library_notice(
        message: Any,
        category: Type[Warning],
        filename: str,
        lineno: int,
        file: Optional[TextIO] = None,
        line: Optional[str] = None,
    ) -> None:
        if not is_library_notice(category, filename):
            show(message, category, filename, lineno, file, line)

    warnings.showwarning = show_unless_library_notice


def main() -> None:
    from bot.rasa_overrides import model_loading, shell_buttons
    from bot.security import log_privacy

    log_privacy.install()
    quiet_library_notices()
    shell_buttons.install()
    model_loading.install()
    sys.argv = ["rasa", "shell", *sys.argv[1:]]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
