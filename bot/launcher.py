"""Starts PoreGuide's processes for people: `python -m bot.launcher chat` runs the action server
in the background, waits until it is healthy, opens `rasa shell`, and stops the action server
when the shell ends; `python -m bot.launcher serve` runs the action server and the Rasa server
with every channel in the foreground until Ctrl-C.

Both supervise what they started (`Supervisor`): a server that dies (a crash, the OOM killer, a
SIGKILL) is started again after a pause that doubles with each restart in a row (1 s up to 30 s,
back to 1 s once it has run for a minute), and every death and restart is logged, on the
launcher's output and in the server's own log. Meanwhile the Rasa server's /health says which one
is down (HTTP 503). The tests' `action_server()` / `rasa_server()` blocks stay unsupervised: they
kill servers on purpose.

The two servers run on different Pythons (issue 19): the Rasa server on this interpreter (the
Rasa venv, Python 3.10, which Rasa 3.6 cannot leave), the action server, which holds the
database and the personal data, on `action_python()`: the action venv that `make setup` builds
on Python 3.11-3.13, else this interpreter on a machine without one.
`python -m bot.launcher actions` runs the action server alone in the foreground (`make actions`)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, ContextManager, Dict, Iterator, List, NoReturn, Optional
from urllib.parse import urlsplit, urlunsplit

import yaml

from bot import settings
from bot.security.action_token import TOKEN_ENV, TOKEN_HEADER
from bot.security.rasa_api import status_lines

LOCALHOST = "127.0.0.1"
LOG_DIR = settings.VAR_DIR / "log"
ACTION_VENV = settings.PROJECT_ROOT / ".venv-actions"
ACTION_PYTHON_ENV = "POREGUIDE_ACTION_PYTHON"  # another interpreter for the action server, e.g. to compare
RESTART_FIRST_DELAY_ENV = "POREGUIDE_RESTART_DELAY"  # seconds before the first restart (default 1)
RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 30.0
STABLE_AFTER_SECONDS = 60.0  # a server up this long is "stable": the next restart waits the first delay again
WATCH_INTERVAL_SECONDS = 0.5

logger = logging.getLogger("bot.launcher")


def rasa_executable() -> str:
    """The `rasa` script next to the running interpreter (the project venv)."""
    return str(Path(sys.executable).with_name("rasa"))


def action_python() -> str:
    """The interpreter that runs the action server: `POREGUIDE_ACTION_PYTHON` if set, else the
    action venv once `make setup` completed it (scripts/action-venv.sh marks it `.installed`),
    else this interpreter, whose venv has rasa-sdk 3.6 too (a machine without Python 3.11+)."""
    chosen = os.environ.get(ACTION_PYTHON_ENV, "").strip()
    if chosen:
        return chosen
    venv_python = ACTION_VENV / "bin" / "python"
    if (ACTION_VENV / ".installed").exists() and os.access(venv_python, os.X_OK):
        return str(venv_python)
    return sys.executable


def python_version(python: str) -> str:
    """`python`'s version, e.g. "3.13.0", for the launcher's messages ("?" if it does not run)."""
    try:
        result = subprocess.run(
            [python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return "?"
    return result.stdout.strip() or "?"


def action_server_command(port: int, python: Optional[str] = None) -> List[str]:
    """rasa-sdk's own entry point (what `rasa run actions` calls), so no Rasa is needed to run it."""
    return [python or action_python(), "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)]


@functools.lru_cache(maxsize=1)
def action_token() -> str:
    """The secret Rasa shows the action server: `ACTION_SERVER_TOKEN`, else a random one made
    once per launcher process and handed to both servers through their environment."""
    return os.environ.get(TOKEN_ENV, "").strip() or secrets.token_urlsafe(32)


def server_environment() -> Dict[str, str]:
    """What both servers get: this environment, the shared token, no telemetry."""
    env = dict(os.environ)
    env[TOKEN_ENV] = action_token()
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")  # nothing leaves the machine
    return env


def process_environment() -> Dict[str, str]:
    """The Rasa processes' environment. The action server's (`server_environment`) keeps Python's
    warnings: the one it is known to give for no reason is filtered in `bot.action_server`."""
    env = server_environment()
    env.setdefault("PYTHONWARNINGS", "ignore")  # Rasa's and TensorFlow's deprecation notices: noise to a chat user
    return env


def wait_until_healthy(
    url: str, process: subprocess.Popen, timeout: float, cancelled: Callable[[], bool] = lambda: False
) -> bool:
    """Poll `url` until it answers 200; False if the process died, time ran out or `cancelled()`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None or cancelled():
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.3)
    return False


def end_group(process: subprocess.Popen) -> None:
    """SIGKILL whatever is left in the process group of `process` (a server started by `launch`).
    A server that stops normally leaves nothing; one that died abruptly may leave helpers behind,
    such as the multiprocessing manager and resource tracker of rasa-sdk 3.21's Sanic."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    _wait_until_group_gone(process.pid)


def _wait_until_group_gone(group: int, timeout: float = 5.0) -> None:
    """SIGKILL is delivered, not done: wait (briefly) until no live process of `group` is left, so
    its listening sockets are closed when the caller goes on (a restart on the same port, a check
    that the port is free). Zombies hold no sockets and are not waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _live_members(group):
        time.sleep(0.05)


def _live_members(group: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
                return True
    return False


def stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    end_group(process)


def launch(command: List[str], env: Dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start `command` in the project directory with its output appended to `log_path`, in a
    process group of its own (`end_group`), which also keeps a terminal's Ctrl-C for the launcher."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command, cwd=settings.PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


@contextlib.contextmanager
def managed_process(
    name: str, command: List[str], env: Dict[str, str], log_path: Path, health_url: str, timeout: float
) -> Iterator[subprocess.Popen]:
    """Run `command` with its output in `log_path`; yield once `health_url` answers, stop it after."""
    process = launch(command, env, log_path)
    try:
        if not wait_until_healthy(health_url, process, timeout):
            raise RuntimeError(f"The {name} did not start ({health_url}); see {log_path}")
        yield process
    finally:
        stop(process)


def first_restart_delay() -> float:
    try:
        return max(0.1, float(os.environ.get(RESTART_FIRST_DELAY_ENV, "") or RESTART_FIRST_DELAY))
    except ValueError:
        return RESTART_FIRST_DELAY


class Supervisor:
    """Keeps one server process running: started and awaited healthy by `start()`, then watched by
    a thread that restarts it whenever it exits, after `first_delay` seconds, doubling with each
    restart in a row up to `max_delay`, and back to `first_delay` once it ran `stable_after`
    seconds. `stop()` ends the watch and the process. Restarts never give up: a server that cannot
    start keeps being tried, less and less often, and each try is logged."""

    def __init__(
        self,
        name: str,
        command: List[str],
        env: Dict[str, str],
        log_path: Path,
        health_url: str,
        timeout: float,
        first_delay: Optional[float] = None,
        max_delay: float = RESTART_MAX_DELAY,
        stable_after: float = STABLE_AFTER_SECONDS,
    ) -> None:
        self.name, self.command, self.env = name, command, env
        self.log_path, self.health_url, self.timeout = log_path, health_url, timeout
        self.first_delay = first_restart_delay() if first_delay is None else first_delay
        self.max_delay, self.stable_after = max_delay, stable_after
        self.restarts = 0
        self.starts = 0  # times the server became healthy
        self.process: Optional[subprocess.Popen] = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher: Optional[threading.Thread] = None

    @property
    def pid(self) -> Optional[int]:
        process = self.process
        return process.pid if process is not None else None

    def _note(self, level: int, message: str) -> None:
        """Log `message` and append it to the server's own log, where its operator looks first."""
        logger.log(level, message)
        with contextlib.suppress(OSError), open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} [launcher] {logging.getLevelName(level)} {message}\n")

    def _launch(self) -> Optional[subprocess.Popen]:
        """Start the process and wait until it is healthy; None if it was stopped or failed meanwhile."""
        with self._lock:
            if self._stopping.is_set():
                return None
            process = self.process = launch(self.command, self.env, self.log_path)
        if wait_until_healthy(self.health_url, process, self.timeout, self._stopping.is_set):
            self.starts += 1
            self._note(logging.INFO, f"The {self.name} is running (pid {process.pid}).")
            return process
        if not self._stopping.is_set():
            self._note(
                logging.ERROR, f"The {self.name} did not become healthy ({self.health_url}); see {self.log_path}"
            )
        stop(process)
        return None

    def start(self) -> "Supervisor":
        """Start the server and its watch; RuntimeError if it does not start the first time."""
        if self._launch() is None:
            raise RuntimeError(f"The {self.name} did not start ({self.health_url}); see {self.log_path}")
        self._watcher = threading.Thread(target=self._watch, name=f"supervise {self.name}", daemon=True)
        self._watcher.start()
        return self

    def _watch(self) -> None:
        delay, started = self.first_delay, time.monotonic()
        while not self._stopping.wait(WATCH_INTERVAL_SECONDS):
            process = self.process
            if process is not None and process.poll() is None:
                continue
            if time.monotonic() - started >= self.stable_after:
                delay = self.first_delay
            code = process.returncode if process is not None else None
            if process is not None:
                end_group(process)
            self.restarts += 1
            self._note(
                logging.ERROR,
                f"The {self.name} stopped unexpectedly (exit status {code}); "
                f"restarting it in {delay:.1f} s (restart {self.restarts}).",
            )
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, self.max_delay)
            started = time.monotonic()
            self._launch()

    def stop(self) -> None:
        self._stopping.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=15)
        with self._lock:
            process = self.process
        if process is not None:
            stop(process)


@contextlib.contextmanager
def supervised(supervisor: Supervisor) -> Iterator[Supervisor]:
    """`supervisor` started for the `with` block, stopped (with its process) after it."""
    try:
        yield supervisor.start()
    finally:
        supervisor.stop()


def _action_server_command(port: int, extra_env: Optional[Dict[str, str]], python: Optional[str] = None) -> tuple:
    env = {**server_environment(), **(extra_env or {})}
    env["SANIC_HOST"] = LOCALHOST
    return action_server_command(port, python), env, f"http://{LOCALHOST}:{port}/health"


def action_server(
    port: int,
    log_path: Path,
    timeout: float = 90.0,
    extra_env: Optional[Dict[str, str]] = None,
    python: Optional[str] = None,
) -> ContextManager[subprocess.Popen]:
    """The action server on 127.0.0.1:`port` for the duration of a `with` block, answering only
    callers with the launcher's token; `extra_env` (e.g. another DATABASE_URL) goes to the
    action server only; `python` overrides `action_python()`. Not restarted if it dies (see
    `supervised_action_server`)."""
    command, env, health_url = _action_server_command(port, extra_env, python)
    return managed_process("action server", command, env, log_path, health_url, timeout)


def supervised_action_server(
    port: int, log_path: Path, timeout: float = 90.0, extra_env: Optional[Dict[str, str]] = None
) -> ContextManager[Supervisor]:
    """`action_server`, restarted with backoff whenever it dies (`Supervisor`)."""
    command, env, health_url = _action_server_command(port, extra_env)
    return supervised(Supervisor("action server", command, env, log_path, health_url, timeout))


def rasa_server(
    port: int,
    log_path: Path,
    endpoints: Path,
    credentials: Optional[Path] = None,
    model: Optional[Path] = None,
    timeout: float = 180.0,
    extra_env: Optional[Dict[str, str]] = None,
    interface: str = LOCALHOST,
    plain_rasa: bool = False,
) -> ContextManager[subprocess.Popen]:
    """`rasa run` on 127.0.0.1:`port` for the duration of a `with` block; `extra_env` (e.g. a
    channel's settings) goes to the Rasa server only. HTTP API and CORS as `bot.security.rasa_api`
    reads them from that environment (API off, same origin only, by default). `plain_rasa`: Rasa's
    own `rasa run`, without PoreGuide's switches and overrides (the benchmark's default bot)."""
    command, env, health_url = _rasa_server_command(
        port, endpoints, credentials, model, extra_env, interface, plain_rasa
    )
    return managed_process("Rasa server", command, env, log_path, health_url, timeout)


def _rasa_server_command(
    port: int,
    endpoints: Path,
    credentials: Optional[Path],
    model: Optional[Path],
    extra_env: Optional[Dict[str, str]],
    interface: str,
    plain_rasa: bool = False,
) -> tuple:
    command = [
        sys.executable,
        "-m",
        "rasa" if plain_rasa else "bot.rasa_run",
        "run",
        "--interface",
        interface,
        "--port",
        str(port),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(credentials or settings.PROJECT_ROOT / "credentials.yml"),
        "--model",
        str(model or settings.PROJECT_ROOT / "models"),
    ]
    env = {**process_environment(), **(extra_env or {})}
    health_host = LOCALHOST if interface == "0.0.0.0" else interface
    return command, env, f"http://{health_host}:{port}/"


def supervised_rasa_server(
    port: int, log_path: Path, endpoints: Path, timeout: float = 180.0, interface: str = LOCALHOST
) -> ContextManager[Supervisor]:
    """`rasa_server` with the committed credentials and models, restarted with backoff whenever it dies."""
    command, env, health_url = _rasa_server_command(port, endpoints, None, None, None, interface)
    return supervised(Supervisor("Rasa server", command, env, log_path, health_url, timeout))


def supervised_staff_page(log_path: Path, timeout: float = 60.0) -> ContextManager[Supervisor]:
    """The staff web page (`bot.staff_page`) on STAFF_INTERFACE:STAFF_PORT (127.0.0.1:5006), on the
    Rasa venv's interpreter (the action server's venv has no aiohttp or argon2), restarted if it dies."""
    from bot.staff_page.config import StaffPageConfigError, StaffPageSettings

    try:
        page = StaffPageSettings.from_env(os.environ)
    except StaffPageConfigError as error:
        raise RuntimeError(f"staff page: {error}") from error
    health_host = LOCALHOST if page.interface == "0.0.0.0" else page.interface
    command = [sys.executable, "-m", "bot.staff_page", "serve"]
    return supervised(
        Supervisor(
            "staff page", command, server_environment(), log_path, f"http://{health_host}:{page.port}/health", timeout
        )
    )


def endpoints_file(action_port: int, directory: Path = settings.VAR_DIR) -> Path:
    """A copy of endpoints.yml in `directory` whose action endpoint is on `action_port` and sends
    the action token header. The file names the token as `${ACTION_SERVER_TOKEN}` (Rasa fills it
    in from its environment), so no secret is written to disk."""
    endpoints = yaml.safe_load((settings.PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8")) or {}
    action = dict(endpoints.get("action_endpoint") or {"url": "http://127.0.0.1:5055/webhook"})
    parts = urlsplit(action["url"])
    action["url"] = urlunsplit(parts._replace(netloc=f"{parts.hostname}:{action_port}"))
    action["headers"] = {**(action.get("headers") or {}), TOKEN_HEADER: "${%s}" % TOKEN_ENV}
    endpoints["action_endpoint"] = action
    generated = directory / f"endpoints.{action_port}.yml"
    generated.parent.mkdir(parents=True, exist_ok=True)
    generated.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return generated


def log_dir() -> Path:
    """Where `make chat`/`make serve` write the servers' logs: POREGUIDE_LOG_DIR, else var/log."""
    return Path(os.environ.get("POREGUIDE_LOG_DIR", "").strip() or LOG_DIR)


def action_server_description(action_port: int) -> str:
    python = action_python()
    return f"{LOCALHOST}:{action_port}, Python {python_version(python)} ({python})"


def chat(action_port: int, rasa_port: int, extra_args: Optional[List[str]] = None) -> int:
    log_path = log_dir() / "actions.log"
    print(f"Starting the action server on {action_server_description(action_port)}; log: {log_path}...")
    try:
        with supervised_action_server(action_port, log_path):
            print("Starting PoreGuide. Type your questions (or a button's number); /stop or Ctrl-D leaves.")
            # `rasa shell` with numbered buttons and without library notices (bot/shell.py).
            command = [
                sys.executable,
                "-m",
                "bot.shell",
                "--interface",
                LOCALHOST,
                "--port",
                str(rasa_port),
                "--endpoints",
                str(endpoints_file(action_port)),
                *(extra_args or []),
            ]
            with contextlib.suppress(KeyboardInterrupt):
                return subprocess.call(command, cwd=settings.PROJECT_ROOT, env=process_environment())
            return 0
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def channel_status() -> List[str]:
    """One line per optional channel: on, or off with the variables it lacks."""
    from bot.channels.config import SlackSettings, TelegramSettings

    lines = []
    for name, settings_class in (("Telegram", TelegramSettings), ("Slack", SlackSettings)):
        missing = settings_class.missing()
        lines.append(f"  {name}: " + ("on" if not missing else f"off (set {', '.join(missing)} to turn it on)"))
    return lines


def serve(action_port: int, rasa_port: int, interface: str) -> int:
    """Action server and Rasa server (REST, website socket and page, Telegram/Slack when
    configured) in the foreground until Ctrl-C."""
    host = "localhost" if interface in (LOCALHOST, "0.0.0.0") else interface
    try:
        with supervised_action_server(action_port, log_dir() / "actions.log"):
            print(
                f"Action server on {action_server_description(action_port)}. Starting the Rasa server (about 20 s)..."
            )
            with supervised_rasa_server(
                rasa_port, log_dir() / "rasa.log", endpoints_file(action_port), interface=interface
            ), supervised_staff_page(log_dir() / "staff.log") as staff_page:
                print(f"PoreGuide is running. Website demo page: http://{host}:{rasa_port}/chat")
                print(
                    f"  Staff page: {staff_page.health_url.rsplit('/health', 1)[0]}/ (staff accounts: "
                    "python -m bot.staff_page add-user NAME)"
                )
                print(f"  REST: http://{host}:{rasa_port}/webhooks/rest/webhook")
                print(f"  Website socket.io: http://{host}:{rasa_port}/socket.io")
                print("\n".join(channel_status() + status_lines(os.environ)))
                print(f"Logs: {log_dir()}/. The servers are restarted if they stop. Press Ctrl-C to stop.", flush=True)
                with contextlib.suppress(KeyboardInterrupt):
                    while True:
                        time.sleep(1)
                return 0
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        print("PoreGuide stopped.")


def run_actions(action_port: int) -> NoReturn:
    """The action server alone in the foreground (`make actions`): this process becomes it (exec),
    so Ctrl-C and the exit status are its own. Loopback only; it checks the token only when
    ACTION_SERVER_TOKEN is set, as plain `rasa run actions` next to a `rasa shell` expects."""
    command = action_server_command(action_port)
    print(f"Action server on {action_server_description(action_port)}", flush=True)
    os.chdir(settings.PROJECT_ROOT)
    os.execve(command[0], command, {**os.environ, "SANIC_HOST": LOCALHOST})


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the `with` blocks, so no server is left behind


def main(argv: Optional[List[str]] = None) -> int:
    # SIGTERM (a supervisor) and SIGHUP (the terminal of `make chat`/`make serve` closed) stop every
    # server started here, as Ctrl-C does; the servers run in their own process groups and never
    # see the terminal's hang-up themselves.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s launcher %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m bot.launcher", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    chat_parser = sub.add_parser("chat", help="action server + rasa shell")
    serve_parser = sub.add_parser("serve", help="action server + Rasa server with all channels, foreground")
    actions_parser = sub.add_parser("actions", help="the action server alone, foreground")
    for sub_parser in (chat_parser, serve_parser, actions_parser):
        sub_parser.add_argument("--action-port", type=int, default=int(os.environ.get("ACTION_PORT", "5055")))
    for sub_parser in (chat_parser, serve_parser):
        sub_parser.add_argument("--rasa-port", type=int, default=int(os.environ.get("RASA_PORT", "5005")))
    serve_parser.add_argument(
        "--interface",
        default=os.environ.get("RASA_INTERFACE", LOCALHOST),
        help="address the Rasa server listens on (0.0.0.0 to be reachable from outside)",
    )
    args, extra = parser.parse_known_args(argv)
    settings.load_dotenv()
    if args.command == "actions":
        run_actions(args.action_port)
    if args.command == "serve":
        return serve(args.action_port, args.rasa_port, args.interface)
    return chat(args.action_port, args.rasa_port, extra)


if __name__ == "__main__":
    sys.exit(main())
