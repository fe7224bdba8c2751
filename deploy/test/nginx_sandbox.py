"""Runs the real nginx with deploy/nginx.conf the way the compose file starts it, without containers:
inside a private mount and network namespace (`unshare --mount --net --fork`, as root), with the
compose file's bind mounts made at the same paths, /etc/hosts naming the Rasa replicas, and small
HTTP servers on the replicas' addresses standing in for Rasa. Nothing leaks out of the namespace:
its loopback, /etc/hosts, /etc/nginx and /run are its own.

    unshare --mount --net --fork python3 deploy/test/nginx_sandbox.py SPEC.json

SPEC: {"command": [...], "mounts": [[host path, container path], ...], "scenario": name, ...};
prints one JSON object with what was observed. Used by tests/test_deploy_nginx.py. Standard
library only."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

PORT = 5005  # the replicas' port in nginx.conf
NGINX_PORT = 80
NGINX_WRITABLE = ("/run", "/var/log/nginx", "/var/lib/nginx", "/etc/nginx")


class Replica:
    """An HTTP server on one address that says who it is and what it was asked."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.requests: List[str] = []
        self.connections: List[socket.socket] = []
        replica = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                replica.connections.append(self.connection)

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                replica.requests.append(self.path)
                body = json.dumps(
                    {
                        "replica": replica.address,
                        "path": self.path,
                        "method": self.command,
                        "upgrade": self.headers.get("Upgrade"),
                        "connection": self.headers.get("Connection"),
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((address, PORT), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Gone, as a killed process is: no new connections, and the open ones (nginx's keep-alive) closed."""
        self.server.shutdown()
        self.server.server_close()
        for connection in self.connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def run(*command: str) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def prepare_namespace(mounts: List[Tuple[str, str]], hosts_file: Path) -> None:
    if os.geteuid() != 0:
        raise SystemExit("nginx_sandbox.py must run as root inside `unshare --mount --net`")
    run("mount", "--make-rprivate", "/")
    for directory in NGINX_WRITABLE:
        Path(directory).mkdir(parents=True, exist_ok=True)
        run("mount", "-t", "tmpfs", "tmpfs", directory)
    for source, target in mounts:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).touch()
        run("mount", "--bind", source, target)
        run("mount", "-o", "remount,bind,ro", target)
    run("mount", "--bind", str(hosts_file), "/etc/hosts")
    run("ip", "link", "set", "lo", "up")


def write_hosts(hosts_file: Path, replicas: List[str]) -> None:
    # Written in place: /etc/hosts is a bind mount of this very file.
    with open(hosts_file, "w", encoding="utf-8") as handle:
        handle.write("127.0.0.1 localhost\n" + "".join(f"{address} rasa\n" for address in replicas))


def request(
    path: str,
    method: str = "GET",
    body: bytes = b"",
    client: str = "127.0.0.1",
    timeout: float = 15.0,
    headers: Optional[Dict[str, str]] = None,
) -> Tuple[int, Optional[Dict[str, Any]]]:
    """Status and, when a replica answered, its JSON; `path` is sent exactly as given."""
    connection = http.client.HTTPConnection("127.0.0.1", NGINX_PORT, timeout=timeout, source_address=(client, 0))
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        connection.putheader("Content-Length", str(len(body)))
        connection.putheader("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
        try:
            answer = json.loads(data) if response.getheader("Content-Type") == "application/json" else None
        except ValueError:
            answer = None
        return response.status, answer
    finally:
        connection.close()


def wait_for_nginx(process: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", NGINX_PORT), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nginx did not listen on port 80")


def scenario_routes(spec: Dict[str, Any], replicas: Dict[str, Replica]) -> Dict[str, Any]:
    """Every path of spec["paths"]: status, and the raw path a replica received (None: not forwarded)."""
    results = {}
    for path in spec["paths"]:
        status, answer = request(path)
        results[path] = {"status": status, "forwarded": answer["path"] if answer else None}
    sticky = {request("/socket.io/?EIO=4&transport=polling", client="127.0.0.7")[1]["replica"] for _ in range(6)}
    spread = {request("/webhooks/rest/webhook", "POST", b"{}")[1]["replica"] for _ in range(6)}
    _, upgraded = request(
        "/socket.io/?EIO=4&transport=websocket", headers={"Upgrade": "websocket", "Connection": "Upgrade"}
    )
    return {
        "routes": results,
        "socket_io_replicas": sorted(sticky),
        "webhook_replicas": sorted(spread),
        "socket_io_upgrade": upgraded,
    }


def scenario_replica_restart(spec: Dict[str, Any], replicas: Dict[str, Replica], hosts_file: Path) -> Dict[str, Any]:
    """Replica .2 is replaced by one at a new address (.3), as a restarted container is: how long
    until nginx sends requests to the new address, if it ever does within spec["wait_seconds"]."""
    before = request("/health")
    replicas["127.0.0.2"].stop()
    replicas["127.0.0.3"] = Replica("127.0.0.3")
    write_hosts(hosts_file, ["127.0.0.3"])
    started = time.monotonic()
    statuses = []
    while time.monotonic() - started < spec["wait_seconds"]:
        status, answer = request("/health", timeout=5)
        statuses.append(status)
        if answer and answer["replica"] == "127.0.0.3":
            return {
                "before": before[1],
                "followed_after_seconds": round(time.monotonic() - started, 1),
                "statuses": statuses[-5:],
            }
        time.sleep(0.5)
    return {"before": before[1], "followed_after_seconds": None, "statuses": statuses[-5:]}


def scenario_replica_dies(spec: Dict[str, Any], replicas: Dict[str, Replica]) -> Dict[str, Any]:
    """Two replicas, one stops answering (its port closed): every webhook still gets an answer."""
    replicas["127.0.0.3"].stop()
    answers = [request("/webhooks/rest/webhook", "POST", b'{"message": "hi"}', timeout=20) for _ in range(6)]
    return {
        "statuses": [status for status, _ in answers],
        "replicas": sorted({answer["replica"] for _, answer in answers if answer}),
    }


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    work = Path(tempfile.mkdtemp(prefix="nginx-sandbox-"))
    hosts_file = work / "hosts"
    addresses = spec.get("replicas", ["127.0.0.2", "127.0.0.3"])
    write_hosts(hosts_file, addresses)
    prepare_namespace([tuple(mount) for mount in spec["mounts"]], hosts_file)
    output: Dict[str, Any] = {}

    syntax = subprocess.run(["nginx", "-t", "-c", "/etc/nginx/nginx.conf"], capture_output=True, text=True)
    output["nginx_t"] = {"returncode": syntax.returncode, "output": syntax.stderr.strip()}
    replicas = {address: Replica(address) for address in addresses}
    env = dict(os.environ, NGINX_RERESOLVE_SECONDS=str(spec.get("reresolve_seconds", 1)))
    nginx = subprocess.Popen(
        spec["command"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(work / "nginx.log", "w"),
        start_new_session=True,
    )
    try:
        wait_for_nginx(nginx, time.monotonic() + 15)
        if spec["scenario"] == "routes":
            output.update(scenario_routes(spec, replicas))
        elif spec["scenario"] == "replica_restart":
            output.update(scenario_replica_restart(spec, replicas, hosts_file))
        elif spec["scenario"] == "replica_dies":
            output.update(scenario_replica_dies(spec, replicas))
        else:
            raise SystemExit(f"unknown scenario {spec['scenario']!r}")
    except RuntimeError as error:
        output["error"] = str(error)
    finally:
        try:
            os.killpg(nginx.pid, signal.SIGTERM)
            nginx.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(nginx.pid, signal.SIGKILL)
        output["nginx_exit"] = nginx.returncode
        output["nginx_log"] = (work / "nginx.log").read_text(errors="replace")[-3000:]
    print(json.dumps(output))


if __name__ == "__main__":
    main()
