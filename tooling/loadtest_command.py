"""`make loadtest` (`python -m tooling.loadtest_command`): the load test's command line, for a
running `make serve` (`tooling.loadtest`) or, with --chaos, for servers it starts and kills
(`tooling.loadtest_chaos`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import List, Optional
from urllib.parse import urlsplit

from bot import settings
from tooling import loadtest_chaos
from tooling.loadtest import LOOPBACK_HOSTS, format_summary, run_load

DEFAULT_PNG = settings.VAR_DIR / "loadtest" / "latency-over-time.png"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tooling.loadtest_command",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", default="http://127.0.0.1:5005", help="base URL of a running `make serve`")
    parser.add_argument("--users", type=int, default=50, help="simulated people talking at the same time")
    parser.add_argument("--turns", type=int, default=20, help="messages each person sends")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one reply may take")
    parser.add_argument("--deadline", type=float, default=900.0, help="seconds for the whole run")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    parser.add_argument(
        "--png", type=Path, default=DEFAULT_PNG, help=f"latency-over-time chart (default {DEFAULT_PNG})"
    )
    loadtest_chaos.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.users < 1 or args.turns < 1:
        parser.error("--users and --turns must be at least 1")
    if args.chaos:
        return loadtest_chaos.run(args)
    if urlsplit(args.url).hostname not in LOOPBACK_HOSTS:
        parser.error(f"--url must be on this machine ({', '.join(LOOPBACK_HOSTS)})")
    report = asyncio.run(run_load(args.url, args.users, args.turns, args.timeout, args.deadline))
    summary = report.summary()
    print(format_summary(summary), flush=True)
    report.write_latency_over_time(args.png)
    print(f"latency over time: {args.png}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
