"""The README's "Where things live" table matches the tree: every path it names exists, and every
package and module of `bot/` (and each top-level folder of the project) is named in it."""

from __future__ import annotations

import re
from typing import Set

from bot import settings

ROOT = settings.PROJECT_ROOT


def layout_paths() -> Set[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Where things live", 1)[1].split("\n## ", 1)[0]
    cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    return {path.rstrip("/") for cell in cells for path in re.findall(r"`([^`]+)`", cell)}


def test_every_path_in_the_layout_table_exists() -> None:
    missing = sorted(path for path in layout_paths() if not (ROOT / path).exists())
    assert not missing, f"README names paths that do not exist: {missing}"


def test_every_part_of_bot_and_every_top_level_folder_is_in_the_table() -> None:
    named = layout_paths()
    parts = {
        f"bot/{path.name}"
        for path in (ROOT / "bot").iterdir()
        if (path.is_dir() and (path / "__init__.py").exists())
        or (path.suffix == ".py" and path.stem not in {"__init__", "settings"})
    }
    folders = {
        path.name
        for path in ROOT.iterdir()
        if path.is_dir() and not path.name.startswith(".") and not path.name.endswith(".egg-info")
    } - {"bot", "var", "models", "results"}  # bot: by its parts; the rest: made by setup and runs
    unnamed = sorted((parts | folders) - named)
    assert not unnamed, f"README's layout table does not name: {unnamed}"
