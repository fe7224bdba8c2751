"""End-to-end checks of the running compose stack (deploy/docker-compose.yml), through nginx only,
as a clinic's visitors, Telegram and Slack reach it. Started by deploy/test/run.sh once the stack is
up; talks to podman for what an outsider cannot do (kill a replica, read PostgreSQL, list the
published ports). Standard library only.

In order:
  1. /health answers ok through nginx;
  2. a knowledge question is answered from the knowledge base by the action servers (the reply a
     failed action call gives is refused);
  3. a recommendation, five questions answered, is given, the turns spread over both Rasa replicas;
  4. one Rasa replica is killed (SIGKILL): the same conversation goes on at once, a booking starts;
  5. one action-server replica is killed: the booking's answers are still validated and knowledge
     questions answered;
  6. the killed Rasa replica is restarted by podman (restart policy), then replaced by a new
     container at a new address (as `docker compose up` after an image update does): nginx sends
     it requests without being restarted; the other replica is stopped and the same conversation
     finishes on the new container; the booking is stored exactly once in PostgreSQL and the
     conversation's 11 turns are in one conversation;
  7. Telegram's and Slack's webhooks answer through nginx: the Telegram webhook was registered at
     start-up, a Telegram question and a Slack direct message are answered (the replies read at
     stand-ins for their APIs, deploy/test/fake_chat_apis.py), Slack's signed url_verification is
     answered, unsigned calls are refused;
  8. nothing else is reachable: nginx answers 404/400 to Rasa's HTTP API, the staff page and dot
     segments; the stack publishes nginx's port, and the staff page's on the host's loopback only
     (where its sign-in page answers), nothing else.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import re
import shlex
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

FAILED_ACTION_REPLIES = ("technical problem",)
REFERENCE = re.compile(r"\bPG-[2-9A-HJ-NP-Z]{6}\b")
UPSTREAM = re.compile(r"upstream=([^\s,]+(?:, [^\s,]+)*) ")


class CheckFailed(AssertionError):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def log(message: str) -> None:
    print(f"[check {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------- podman, compose

COMPOSE: List[str] = []  # docker-compose with the project, file and settings of the stack (--compose)


def compose(*args: str) -> str:
    completed = subprocess.run([*COMPOSE, *args], capture_output=True, text=True, timeout=300)
    if completed.returncode != 0:
        raise CheckFailed(f"docker-compose {' '.join(args)}: {completed.stderr.strip()[-500:]}")
    return completed.stdout.strip()


def podman(*args: str, check: bool = True) -> str:
    completed = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120)
    if check and completed.returncode != 0:
        raise CheckFailed(f"podman {' '.join(args)}: {completed.stderr.strip()}")
    return completed.stdout.strip()


class Stack:
    def __init__(self, url: str, project: str, env: Dict[str, str]) -> None:
        self.url = url.rstrip("/")
        self.project = project
        self.env = env
        self.log_mark = time.time()

    def containers(self, service: str, running_only: bool = False) -> List[str]:
        args = [
            "ps",
            "--format",
            "{{.Names}}",
            "--filter",
            f"label=com.docker.compose.project={self.project}",
            "--filter",
            f"label=com.docker.compose.service={service}",
        ]
        if not running_only:
            args.insert(1, "-a")
        return sorted(name for name in podman(*args).splitlines() if name)

    def containers_all(self) -> List[str]:
        return sorted(
            name
            for name in podman(
                "ps", "-a", "--format", "{{.Names}}", "--filter", f"label=com.docker.compose.project={self.project}"
            ).splitlines()
            if name
        )

    def host_ports(self) -> Set[int]:
        """TCP ports the stack's containers hold open on the host: rootful podman keeps each
        published port open in the container's conmon process."""
        conmons = {self.inspect(name, "{{.State.ConmonPid}}") for name in self.containers_all() if self.running(name)}
        listening = subprocess.run(["ss", "-Htlnp"], capture_output=True, text=True, check=True).stdout.splitlines()
        ports = set()
        for line in listening:
            if set(re.findall(r"pid=(\d+)", line)) & conmons:
                ports.add(int(line.split()[3].rsplit(":", 1)[1]))
        return ports

    def inspect(self, container: str, template: str) -> str:
        return podman("inspect", "--format", template, container)

    def address(self, container: str) -> str:
        return self.inspect(container, "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")

    def running(self, container: str) -> bool:
        return self.inspect(container, "{{.State.Running}}") == "true"

    def health(self, container: str) -> str:
        return self.inspect(container, "{{.State.Health.Status}}")

    def kill(self, container: str) -> None:
        """SIGKILL to the container's main process, as a crash or the kernel's OOM killer would;
        returns once the process is gone (a big process takes a moment to die, and a request sent
        to it meanwhile fails as it would in any crash)."""
        pid = int(self.inspect(container, "{{.State.Pid}}"))
        expect(pid > 0, f"{container} is not running")
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def wait_healthy(self, container: str, seconds: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            if self.running(container) and self.health(container) == "healthy":
                return time.monotonic() - started
            time.sleep(2)
        raise CheckFailed(f"{container} not healthy after {seconds:.0f} s (health {self.health(container)!r})")

    def psql(self, sql: str) -> str:
        postgres = self.containers("postgres", running_only=True)
        expect(bool(postgres), "no PostgreSQL container running")
        return podman("exec", postgres[0], "psql", "-U", "poreguide", "-d", "poreguide", "-tAc", sql)

    def nginx_upstreams(self) -> List[str]:
        """The replicas (address:port, several when nginx tried more than one) of each request
        nginx logged since the previous call."""
        nginx = self.containers("nginx")[0]
        since = self.log_mark
        self.log_mark = time.time()
        lines = podman("logs", "--since", f"{since:.3f}", nginx).splitlines()
        return [match.group(1) for line in lines if (match := UPSTREAM.search(line))]

    # ----------------------------------------------------------------------- HTTP through nginx

    def http(
        self, path: str, body: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None, timeout: float = 90.0
    ) -> Tuple[int, bytes]:
        return http_request(self.url + path, body, headers, timeout)

    def say(self, sender: str, message: str) -> str:
        status, body = self.http(
            "/webhooks/rest/webhook",
            json.dumps({"sender": sender, "message": message}).encode(),
            {"Content-Type": "application/json"},
        )
        expect(status == 200, f"{message!r}: HTTP {status} {body[:200]!r}")
        replies = json.loads(body)
        text = "\n".join(reply.get("text", "") for reply in replies)
        expect(bool(replies), f"{message!r}: no reply at all")
        for failure in FAILED_ACTION_REPLIES:
            expect(failure not in text.lower(), f"{message!r}: the bot answered with its failure reply:\n{text}")
        return text


def http_request(
    url: str, body: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None, timeout: float = 90.0
) -> Tuple[int, bytes]:
    """Status and body of a GET (or a POST when there is a body), HTTP errors included."""
    request = urllib.request.Request(
        url, data=body, headers=headers or {}, method="POST" if body is not None else "GET"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class ChatApis:
    """What the bot sent to the stand-in Telegram and Slack APIs (deploy/test/fake_chat_apis.py)."""

    def __init__(self, record: Path) -> None:
        self.record = record

    def requests(self) -> List[Tuple[str, Dict[str, Any]]]:
        if not self.record.exists():
            return []
        lines = self.record.read_text(encoding="utf-8").splitlines()
        found = [json.loads(line) for line in lines if line.strip()]
        return [(item["path"], item["body"] if isinstance(item["body"], dict) else {}) for item in found]

    def wait(self, what: str, matches: Callable[[str, Dict[str, Any]], bool], seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not any(matches(path, body) for path, body in self.requests()):
            expect(
                time.monotonic() < deadline,
                f"{what}: not received within {seconds:.0f} s; got {[path for path, _ in self.requests()][-10:]}",
            )
            time.sleep(0.5)


def contains(message: str, reply: str, expected: List[str]) -> None:
    missing = [part for part in expected if part.lower() not in reply.lower()]
    expect(not missing, f"{message!r}: reply lacks {missing}; the bot answered:\n{reply}")


def read_env(path: Path) -> Dict[str, str]:
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            env[key] = value
    return env


# --------------------------------------------------------------------------- the checks


def check_health(stack: Stack) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            status, body = stack.http("/health", timeout=10)
        except (OSError, http.client.HTTPException) as error:  # nginx still starting
            status, body = 0, repr(error).encode()
        if status == 200:
            break
        expect(time.monotonic() < deadline, f"/health: HTTP {status} {body[:300]!r}")
        time.sleep(2)
    expect(json.loads(body).get("status") == "ok", f"/health: {body!r}")
    log(f"/health through nginx: {body.decode()[:120]}")


def check_knowledge_question(stack: Stack, message: str = "what even is microneedling") -> None:
    reply = stack.say(f"deploy-{uuid.uuid4().hex}", message)
    contains(message, reply, ["microneedling", "tiny punctures"])


def replicas_of(upstreams: List[str], addresses: Dict[str, str]) -> List[str]:
    """Container names of the replicas that answered (the last one nginx tried for each request)."""
    by_address = {address: name for name, address in addresses.items()}
    return [by_address.get(upstream.split(", ")[-1].rsplit(":", 1)[0], upstream) for upstream in upstreams]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--env-file", required=True, type=Path)
    parser.add_argument("--compose", required=True, help="the docker-compose command line of the stack")
    parser.add_argument("--chat-api-requests", required=True, type=Path, help="fake_chat_apis.py's record")
    args = parser.parse_args()
    COMPOSE[:] = shlex.split(args.compose)
    stack = Stack(args.url, args.project, read_env(args.env_file))
    rasa = stack.containers("rasa")
    actions = stack.containers("actions")
    expect(len(rasa) >= 2 and len(actions) >= 2, f"expected 2+ Rasa and action replicas, found {rasa} {actions}")

    # 1, 2
    check_health(stack)
    check_knowledge_question(stack)
    log("knowledge question answered through nginx by the action servers (no failure reply)")

    # 3: a recommendation over both replicas
    sender = f"deploy-{uuid.uuid4().hex}"
    addresses = {name: stack.address(name) for name in rasa}
    stack.nginx_upstreams()
    reply = stack.say(sender, "i have oily skin, which treatment is right for me?")
    contains("start", reply, ["What bothers you most?"])
    for answer in ['/inform{"concern": "blackheads"}', "i cant take any time off work", '/inform{"setting": "home"}']:
        stack.say(sender, answer)
    reply = stack.say(sender, "none of these")
    contains(
        "recommendation", reply, ["Based on your answers", "1. Exfoliation and peels", "confirm with a dermatologist"]
    )
    served = replicas_of(stack.nginx_upstreams(), addresses)
    expect(set(rasa) <= set(served), f"the conversation's 5 turns were served by {served}, not by every replica {rasa}")
    log(f"recommendation given; its turns were served by {sorted(set(served))}")

    # 4: a Rasa replica killed; the conversation goes on
    victim, survivor = served[-1], next(name for name in rasa if name != served[-1])
    stack.kill(victim)
    log(f"killed {victim} (SIGKILL)")
    reply = stack.say(sender, "/book_consultation")
    contains("book", reply, ["What name should the clinic use?"])
    reply = stack.say(sender, "Dana Deploytest")
    contains("name", reply, ["email address or phone number"])
    check_knowledge_question(stack, "how does microneedling actually make pores smaller")
    log(f"with {victim} dead, the conversation went on and questions were answered")

    # 5: an action-server replica killed
    action_victim = actions[0]
    stack.kill(action_victim)
    log(f"killed {action_victim} (SIGKILL)")
    email = f"dana.{uuid.uuid4().hex[:10]}@example.com"
    reply = stack.say(sender, "dana@example")  # validated by the action servers
    contains("bad email", reply, ["type it again"])
    reply = stack.say(sender, email)
    contains("email", reply, ["When would suit you best"])
    for _ in range(3):
        check_knowledge_question(stack)
    log(f"with {action_victim} dead, form answers were validated and knowledge questions answered")

    # 6: the killed replica is restarted by podman; then replaced by a new container at a new address
    # (as `docker compose up` after an image update, or scaling, does), the other replica stopped:
    # the same conversation finishes on the new container, reached through the same nginx.
    started = time.monotonic()
    while not stack.running(victim):
        if time.monotonic() - started > 60:
            raise CheckFailed(f"{victim} was not restarted by its restart policy (unless-stopped) within 60 s")
        time.sleep(1)
    log(
        f"{victim} restarted by podman (restart policy) after {time.monotonic() - started:.0f} s; "
        "replacing it by a new container"
    )
    victim_id = stack.inspect(victim, "{{.Id}}")
    podman("rm", "--force", victim)
    compose("up", "-d", "--no-deps", "--scale", f"rasa={len(rasa)}", "rasa")
    replacement = [name for name in stack.containers("rasa") if name != survivor]
    expect(
        len(replacement) == 1 and stack.inspect(replacement[0], "{{.Id}}") != victim_id,
        f"compose started {replacement} in place of {victim}",
    )
    replacement_address = stack.address(replacement[0])
    waited = stack.wait_healthy(replacement[0], 300)
    log(
        f"{replacement[0]} healthy after {waited:.0f} s at {replacement_address} "
        f"(the replicas were at {sorted(addresses.values())})"
    )
    # nginx must send requests to the new address without being restarted (nginx-start.sh).
    started = time.monotonic()
    stack.nginx_upstreams()
    while not any(upstream.endswith(f"{replacement_address}:5005") for upstream in stack.nginx_upstreams()):
        expect(
            time.monotonic() - started < 30,
            f"nginx sent nothing to {replacement[0]} ({replacement_address}) within 30 s of it being healthy",
        )
        for _ in range(4):
            stack.http("/health", timeout=20)
        time.sleep(0.5)
    log(f"nginx sends requests to {replacement[0]} {time.monotonic() - started:.1f} s after it was healthy")
    podman("stop", "--time", "10", survivor)
    expect(not stack.running(survivor), f"{survivor} still running")
    time.sleep(1)
    stack.nginx_upstreams()
    reply = stack.say(sender, "weekday mornings")
    contains("time", reply, ["May the clinic store your name and contact details"])
    reply = stack.say(sender, "/affirm")
    contains("consent", reply, ["Your reference is"])
    served = stack.nginx_upstreams()
    expect(
        len(served) == 2 and all(upstream.split(", ")[-1] == f"{replacement_address}:5005" for upstream in served),
        f"with only {replacement[0]} ({replacement_address}) running, nginx sent the turns to {served}",
    )
    reference = REFERENCE.search(reply).group(0)  # type: ignore[union-attr]
    rows = stack.psql(
        f"SELECT reference || ' ' || name || ' ' || preferred_time FROM consultation_requests WHERE email = '{email}'"
    ).splitlines()
    expect(rows == [f"{reference} Dana Deploytest weekday mornings"], f"PostgreSQL holds {rows} for {email}")
    turns = int(stack.psql(f"SELECT count(*) FROM events WHERE sender_id = '{sender}' AND type_name = 'user'"))
    expect(turns == 11, f"the conversation store holds {turns} user turns of {sender}, not 11")
    log(
        f"{survivor} stopped; the same conversation finished on {replacement[0]}; "
        f"booking {reference} stored once in PostgreSQL, the 11 turns in one conversation"
    )
    podman("start", survivor)

    # 7: Telegram and Slack through nginx, their replies read at the stand-in APIs
    apis = ChatApis(args.chat_api_requests)
    webhook_url = stack.env["TELEGRAM_WEBHOOK_URL"]
    apis.wait(
        "Telegram's setWebhook at start-up",
        lambda path, body: path.endswith("/setWebhook") and body.get("url") == webhook_url,
    )
    question = "what even is microneedling"
    chat_id = str(int(time.time() * 1000) % 10**9)
    update = {
        "update_id": int(chat_id),
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "text": question,
            "chat": {"id": int(chat_id), "type": "private"},
            "from": {"id": int(chat_id), "is_bot": False, "first_name": "Deploy"},
        },
    }
    body = json.dumps(update).encode()
    status, _ = stack.http("/webhooks/telegram/webhook", body, {"Content-Type": "application/json"})
    expect(status == 403, f"Telegram without the secret token: HTTP {status}, expected 403 from the channel")
    status, answer = stack.http(
        "/webhooks/telegram/webhook",
        body,
        {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": stack.env["TELEGRAM_SECRET_TOKEN"]},
    )
    expect(status == 200 and json.loads(answer) == {"ok": True}, f"Telegram update: HTTP {status} {answer!r}")
    apis.wait(
        "the answer sent to Telegram",
        lambda path, body: (
            path.endswith("/sendMessage")
            and str(body.get("chat_id")) == chat_id
            and "tiny punctures" in body.get("text", "")
        ),
    )

    def signed(body: bytes) -> Dict[str, str]:
        timestamp = str(int(time.time()))
        secret = stack.env["SLACK_SIGNING_SECRET"].encode()
        signature = hmac.new(secret, f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
        return {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": f"v0={signature}",
        }

    challenge = uuid.uuid4().hex
    body = json.dumps({"type": "url_verification", "token": "x", "challenge": challenge}).encode()
    status, _ = stack.http("/webhooks/slack/webhook", body, {"Content-Type": "application/json"})
    expect(status in (401, 403), f"Slack without a signature: HTTP {status}, expected a refusal from the channel")
    status, answer = stack.http("/webhooks/slack/webhook", body, signed(body))
    expect(status == 200 and json.loads(answer).get("challenge") == challenge, f"Slack: HTTP {status} {answer!r}")
    user, channel = f"U{uuid.uuid4().hex[:10].upper()}", f"D{uuid.uuid4().hex[:10].upper()}"
    event = {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "channel": channel,
        "text": question,
        "ts": f"{time.time():.6f}",
    }
    body = json.dumps({"type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:12]}", "event": event}).encode()
    status, answer = stack.http("/webhooks/slack/webhook", body, signed(body))
    expect(status == 200, f"Slack event: HTTP {status} {answer!r}")
    apis.wait(
        "the answer posted to Slack",
        lambda path, body: (
            path.endswith("/chat.postMessage")
            and body.get("channel") == channel
            and "tiny punctures" in json.dumps(body)
        ),
    )
    log(
        "Telegram (webhook registered at start-up; a question answered with sendMessage) and Slack (signed "
        "url_verification; a direct message answered with chat.postMessage) through nginx; unsigned calls refused"
    )

    # 8: nothing else exposed
    for path, expected in [
        ("/model/parse", 404),
        ("/conversations/x/tracker", 404),
        ("/status", 404),
        ("/version", 404),
        ("/", 404),
        ("/staff", 404),
        ("/staff/login", 404),
        ("/admin", 404),
        ("/health/database", 404),
        ("/webhook", 404),
        ("/webhooks/rest/../../model/parse", 400),
        ("/webhooks/rest/%2e%2e/%2e%2e/status", 400),
    ]:
        status, body = stack.http(path, timeout=10)
        expect(
            status == expected and b"nginx" in body,
            f"{path}: HTTP {status} {body[:120]!r}, expected nginx's own {expected}",
        )
    published: Dict[str, Any] = {}
    for name in stack.containers_all():
        ports = json.loads(stack.inspect(name, "{{json .HostConfig.PortBindings}}") or "null") or {}
        if any(bindings for bindings in ports.values()):
            published[name] = ports
    nginx, staff = stack.containers("nginx"), stack.containers("staff")
    expect(
        sorted(published) == sorted(nginx + staff) and list(published[nginx[0]]) == ["80/tcp"],
        f"published ports: {published}; only nginx's port 80 and the staff page may be",
    )
    staff_bindings = [binding for bindings in published[staff[0]].values() for binding in bindings or []]
    expect(
        bool(staff_bindings) and all(binding.get("HostIp") == "127.0.0.1" for binding in staff_bindings),
        f"the staff page is published as {staff_bindings}; only on 127.0.0.1",
    )
    staff_port = int(stack.env["STAFF_PORT"])
    listening = stack.host_ports()
    expect(
        listening == {int(stack.env["HTTP_PORT"]), staff_port},
        f"the stack listens on the host on {sorted(listening)}; only nginx's {stack.env['HTTP_PORT']} "
        f"and the staff page's {staff_port} may be",
    )
    status, body = http_request(f"http://127.0.0.1:{staff_port}/login", timeout=30)
    expect(status == 200 and b"password" in body.lower(), f"staff page on loopback: HTTP {status}")
    log(
        f"only nginx is reachable (host port {stack.env['HTTP_PORT']}); Rasa's API, the action servers, "
        f"PostgreSQL and Redis are not; the staff page answers on 127.0.0.1:{staff_port} only"
    )
    check_health(stack)


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as failure:
        log(f"FAILED: {failure}")
        raise SystemExit(1) from None
    log("all checks passed")
