"""The README's results table, generated from the kept results files, never typed:
`docs/bench/results.json` (the last full `make bench`) and the load-test pair
`docs/bench/loadtest-<date>-before-<commit>.json` / `...-after-<commit>.json` (`make loadtest
ARGS="--json FILE"`, back to back on one machine). `python -m tooling.benchmarks.readme_table`
rewrites the block between the README's markers; tests/test_readme_layout.py fails when it is stale."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bot import settings
from tooling.benchmarks import results as results_file

BENCH_DIR = settings.PROJECT_ROOT / "docs" / "bench"
README = settings.PROJECT_ROOT / "README.md"
BEGIN, END = "<!-- results-table:begin (generated: make readme-table) -->", "<!-- results-table:end -->"
LOADTEST_FILE = re.compile(
    r"loadtest-(?P<date>\d{4}-\d{2}-\d{2})-(?P<when>before|after)-(?P<commit>[0-9a-f]{7,40})\.json"
)


def _cell(value: Optional[float], digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def bench_lines(results: Dict[str, Any]) -> List[str]:
    """PoreGuide and the default bot side by side, the ratio and the issue's target verdict."""
    # judged afresh from the figures: each target names the figure it judges (results.targets)
    judging = {target["figure"]: target for target in results_file.targets(results)}
    machine = results["machine"]
    lines = [
        f"`make bench`, {machine['date'][:10]}, both bots in one run on this {machine['nproc']}-core machine "
        f"({results['poreguide'].get('turns')} REST turns each):",
        "",
        "| figure | PoreGuide | Rasa default bot | ratio | target |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for key in results_file.TIMINGS:
        label = results_file.TIMING_LABELS[key]
        target = judging.get(key)
        verdict = (
            ""
            if target is None
            else "≤ "
            + target["target"].split(" <= ", 1)[-1].replace("<=", "≤")
            + ": "
            + results_file.verdict(target["met"])
        )
        lines.append(
            f"| {label} | {_cell(results['poreguide'].get(key))} | {_cell(results['rasa_default'].get(key))} | "
            f"{_cell(results['ratios'].get(key), 2)} | {verdict} |"
        )
    return lines


def loadtest_pair(directory: Path = BENCH_DIR) -> Optional[Tuple[Dict[str, Any], Dict[str, Any]]]:
    """The newest date's before/after load tests, each with its date and commit, if both are kept."""
    found: Dict[str, Dict[str, Dict[str, Any]]] = {}
    for path in directory.glob("loadtest-*.json"):
        match = LOADTEST_FILE.fullmatch(path.name)
        if match:
            found.setdefault(match["date"], {})[match["when"]] = {
                **json.loads(path.read_text(encoding="utf-8")),
                "commit": match["commit"][:7],
                "date": match["date"],
            }
    complete = sorted(date for date, pair in found.items() if set(pair) == {"before", "after"})
    return (found[complete[-1]]["before"], found[complete[-1]]["after"]) if complete else None


def loadtest_lines(before: Dict[str, Any], after: Dict[str, Any]) -> List[str]:
    return [
        "",
        f"`make loadtest` ({after['users']} users × {after['turns_per_user']} turns against `make serve`), "
        f"{after['date']}, back to back on this machine:",
        f"before the turn-cost work (commit {before['commit']}) and after it (commit {after['commit']}):",
        "",
        "| load test | before | after | after / before |",
        "| --- | ---: | ---: | ---: |",
        *[
            f"| {label} | {_cell(before[key], digits)} | {_cell(after[key], digits)} | "
            f"{_cell(after[key] / before[key] if before[key] else None, 2)} |"
            for key, label, digits in (
                ("throughput_per_second", "throughput (turns/s)", 1),
                ("p50_ms", "latency p50 (ms)", 0),
                ("p95_ms", "latency p95 (ms)", 0),
                ("p99_ms", "latency p99 (ms)", 0),
                ("errors", "errors", 0),
            )
        ],
    ]


def block(directory: Path = BENCH_DIR) -> str:
    """The generated block, markers included."""
    lines = bench_lines(json.loads((directory / "results.json").read_text(encoding="utf-8")))
    pair = loadtest_pair(directory)
    if pair:
        lines += loadtest_lines(*pair)
    return "\n".join([BEGIN, *lines, END])


def with_block(readme: str, generated: str) -> str:
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    return readme[:start] + generated + readme[end:]


def main() -> int:
    text = README.read_text(encoding="utf-8")
    updated = with_block(text, block())
    README.write_text(updated, encoding="utf-8")
    print("README results table " + ("unchanged" if updated == text else "rewritten"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
