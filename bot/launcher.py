"""Starts PoreGuide's processes for people: `python -m bot.launcher chat` runs the action server
in the background, waits until it is healthy, opens `rasa shell`, and stops the action server
when the shell ends."""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import ContextManager, Dict, Iterator, List, Optional

from bot import settings

LOCALHOST = "127.0.0.1"
LOG_DIR = settings.VAR_DIR / "log"


def rasa_executable() -> str:
    """The `rasa` script next to the running interpreter (the project venv)."""
    return str(Path(sys.executable).with_name("rasa"))


def process_environment() -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("PYTHONWARNINGS", "ignore")  # library deprecation notices are noise for a chat user
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")  # nothing leaves the machine
    return env


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float) -> bool:
    """Poll `url` until it answers 200; False if the process died or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.3)
    return False


def stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def managed_process(
    name: str, command: List[str], env: Dict[str, str], log_path: Path, health_url: str, timeout: float
) -> Iterator[subprocess.Popen]:
    """Run `command` with its output in `log_path`; yield once `health_url` answers, stop it after."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=settings.PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        if not wait_until_healthy(health_url, process, timeout):
            raise RuntimeError(f"The {name} did not start ({health_url}); see {log_path}")
        yield process
    finally:
        stop(process)


def action_server(
    port: int, log_path: Path, timeout: float = 90.0, extra_env: Optional[Dict[str, str]] = None
) -> ContextManager[subprocess.Popen]:
    """`rasa run actions` on 127.0.0.1:`port` for the duration of a `with` block; `extra_env`
    (e.g. another DATABASE_URL) goes to the action server only."""
    env = {**process_environment(), **(extra_env or {})}
    env["SANIC_HOST"] = LOCALHOST
    command = [rasa_executable(), "run", "actions", "--port", str(port)]
    return managed_process("action server", command, env, log_path, f"http://{LOCALHOST}:{port}/health", timeout)


def rasa_server(
    port: int,
    log_path: Path,
    endpoints: Path,
    credentials: Optional[Path] = None,
    model: Optional[Path] = None,
    timeout: float = 180.0,
) -> ContextManager[subprocess.Popen]:
    """`rasa run` on 127.0.0.1:`port` (HTTP API off) for the duration of a `with` block."""
    command = [
        rasa_executable(), "run", "--interface", LOCALHOST, "--port", str(port),
        "--endpoints", str(endpoints),
        "--credentials", str(credentials or settings.PROJECT_ROOT / "credentials.yml"),
        "--model", str(model or settings.PROJECT_ROOT / "models"),
    ]
    return managed_process("Rasa server", command, process_environment(), log_path, f"http://{LOCALHOST}:{port}/", timeout)


def endpoints_file(action_port: int, directory: Path = settings.VAR_DIR) -> Path:
    """endpoints.yml as committed when the port is the default, else a copy in `directory`
    pointing at `action_port`."""
    committed = settings.PROJECT_ROOT / "endpoints.yml"
    if action_port == 5055:
        return committed
    generated = directory / f"endpoints.{action_port}.yml"
    generated.parent.mkdir(parents=True, exist_ok=True)
    generated.write_text(committed.read_text().replace(":5055/", f":{action_port}/"))
    return generated


def chat(action_port: int, rasa_port: int, extra_args: Optional[List[str]] = None) -> int:
    log_path = LOG_DIR / "actions.log"
    print(f"Starting the action server on {LOCALHOST}:{action_port} (log: {log_path.relative_to(settings.PROJECT_ROOT)})...")
    try:
        with action_server(action_port, log_path):
            print("Starting PoreGuide. Type your questions; type /stop or press Ctrl-D to leave.")
            command = [rasa_executable(), "shell", "--interface", LOCALHOST, "--port", str(rasa_port),
                       "--endpoints", str(endpoints_file(action_port)), *(extra_args or [])]
            with contextlib.suppress(KeyboardInterrupt):
                return subprocess.call(command, cwd=settings.PROJECT_ROOT, env=process_environment())
            return 0
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the `with` blocks, so no server is left behind


def main(argv: Optional[List[str]] = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parser = argparse.ArgumentParser(prog="python -m bot.launcher", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    chat_parser = sub.add_parser("chat", help="action server + rasa shell")
    chat_parser.add_argument("--action-port", type=int, default=int(os.environ.get("ACTION_PORT", "5055")))
    chat_parser.add_argument("--rasa-port", type=int, default=int(os.environ.get("RASA_PORT", "5005")))
    args, extra = parser.parse_known_args(argv)
    return chat(args.action_port, args.rasa_port, extra)


if __name__ == "__main__":
    sys.exit(main())
