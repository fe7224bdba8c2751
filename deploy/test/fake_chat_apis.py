"""Stand-ins for the Telegram Bot API and Slack's Web API while `make deploy-test` runs: the Rasa
containers are pointed at this server (TELEGRAM_API_BASE_URL, SLACK_API_BASE_URL), so the replies
the bot sends to Telegram and Slack can be checked. Answers every POST with `{"ok": true, ...}`
and appends it, as one JSON line {"path": ..., "body": ...}, to the file given.

    python3 fake_chat_apis.py PORT REQUESTS.jsonl

Standard library only."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOCK = threading.Lock()


def main() -> None:
    port, record = int(sys.argv[1]), sys.argv[2]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            with LOCK, open(record, "a", encoding="utf-8") as handle:
                handle.write(json.dumps({"path": self.path, "body": body}) + "\n")
            answer = json.dumps({"ok": True, "result": {"message_id": 1}, "ts": "1.000001"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
