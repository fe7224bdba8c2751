"""The README's "Where things live" table matches the tree: every path it names exists, and every
package and module of `bot/` (and each top-level folder of the project) is named in it."""

from __future__ import annotations

import json
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


def test_the_results_table_is_generated_from_the_kept_results() -> None:
    """The README's speed table is `make readme-table`'s output for docs/bench/, not typed."""
    from tooling.benchmarks import readme_table

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    generated = readme_table.block()
    assert generated in readme, "README's results table is stale or edited: run `make readme-table`"
    assert "| turn latency p95 (ms) |" in generated and "| throughput (turns/s) |" in generated


def test_the_results_table_reads_the_newest_complete_load_test_pair(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tooling.benchmarks import readme_table

    summary = {"users": 50, "turns_per_user": 20, "throughput_per_second": 10.0, "p50_ms": 1, "p95_ms": 2}
    summary.update(p99_ms=3, errors=0)
    for name in ("loadtest-2026-11-01-before-aaaaaaa", "loadtest-2026-12-01-before-bbbbbbb"):
        (tmp_path / f"{name}.json").write_text(json.dumps(summary))
    (tmp_path / "loadtest-2026-11-01-after-ccccccc.json").write_text(json.dumps({**summary, "p95_ms": 1}))
    before, after = readme_table.loadtest_pair(tmp_path)  # 12-01 has no "after": the 11-01 pair is used
    assert (before["commit"], after["commit"], after["date"]) == ("aaaaaaa", "ccccccc", "2026-11-01")
    lines = readme_table.loadtest_lines(before, after)
    assert "| latency p95 (ms) | 2 | 1 | 0.50 |" in lines


def test_each_timing_row_carries_the_verdict_of_the_target_that_names_its_figure(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Rows find their target by figure, not by its wording: a reworded target still judges its row."""
    from tooling.benchmarks import readme_table
    from tooling.benchmarks import results as results_file

    kept = json.loads((ROOT / "docs" / "bench" / "results.json").read_text(encoding="utf-8"))
    judging = results_file.targets

    def reworded(results):  # type: ignore[no-untyped-def]
        return [{**target, "target": "reworded <= " + target["target"]} for target in judging(results)]

    monkeypatch.setattr(results_file, "targets", reworded)
    rows = {line.split(" | ")[0].lstrip("| "): line for line in readme_table.bench_lines(kept) if line.startswith("| ")}
    judged = [label for label, line in rows.items() if line.rstrip(" |").endswith(("met", "**missed**"))]
    assert sorted(judged) == sorted(
        results_file.TIMING_LABELS[key] for key in ("p95_ms", "cold_start_s", "rss_mb", "train_s")
    )
