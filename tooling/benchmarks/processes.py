"""Running Rasa commands as timed child processes, and reading what the kernel knows about them
(peak resident memory) without extra dependencies."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional

from bot.launcher import process_environment, rasa_executable

LOG_TAIL_LINES = 25


class BenchmarkError(RuntimeError):
    """A step of the benchmark failed; the message names its log."""


def rasa_environment(cache_dir: Optional[Path] = None) -> Dict[str, str]:
    """The launcher's quiet, telemetry-free environment; `cache_dir` becomes Rasa's training cache
    (RASA_CACHE_DIRECTORY, read by rasa.engine.caching) so a timing starts from an empty one."""
    env = process_environment()
    if cache_dir is not None:
        env["RASA_CACHE_DIRECTORY"] = str(cache_dir)
    return env


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def timed_rasa(arguments: List[str], cwd: Path, log_path: Path, env: Optional[Dict[str, str]] = None) -> float:
    """Run `rasa <arguments>` in `cwd` with its output in `log_path`; wall seconds it took."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        status = subprocess.call(
            [rasa_executable(), *arguments],
            cwd=cwd,
            env=env or rasa_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    elapsed = time.perf_counter() - started
    if status != 0:
        raise BenchmarkError(
            f"`rasa {' '.join(arguments[:2])}` failed (exit {status}); see {log_path}:\n{log_tail(log_path)}"
        )
    return elapsed


def _descendants(pid: int) -> List[int]:
    children: List[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        children.extend(int(child) for child in task.read_text().split())
    return children + [grandchild for child in children for grandchild in _descendants(child)]


def peak_rss_mb(pid: int) -> Optional[float]:
    """Peak resident memory (VmHWM) of a process and its children, in MiB; None off Linux."""
    total_kib = 0
    for process in [pid, *_descendants(pid)]:
        try:
            status = Path(f"/proc/{process}/status").read_text()
        except OSError:
            continue
        total_kib += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return round(total_kib / 1024, 1) if total_kib else None
