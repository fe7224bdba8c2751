"""Free loopback ports for the servers that tests, benchmarks and load tests start side by side."""

from __future__ import annotations

import contextlib
import socket
from typing import List


def free_ports(count: int) -> List[int]:
    """`count` distinct free TCP ports on 127.0.0.1 (all sockets held open until all are chosen)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
