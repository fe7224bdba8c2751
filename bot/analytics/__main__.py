"""`python -m bot.analytics [--database-url URL] [--out DIR]`: the conversation report from the
tracker store at `--database-url`, else `TRACKER_STORE_URL`, else `DATABASE_URL`, else the
project's SQLite file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from bot import settings
from bot.analytics.events import TrackerStoreUnavailable, open_engine, read_events
from bot.analytics.metrics import compute
from bot.analytics.page import render
from bot.analytics.vocabulary import load_vocabulary
from bot.persistence import config as persistence_config
from bot.persistence.config import normalise_sql_url

DEFAULT_OUT = settings.VAR_DIR / "report"


def tracker_store_url(explicit: Optional[str] = None) -> str:
    """`explicit` (the option), else the URL the assistant's tracker store itself uses."""
    return normalise_sql_url(explicit) if explicit else persistence_config.tracker_store_url()


def write_report(database_url: str, out: Path) -> Path:
    """Reads every stored event once and writes `out`/report.html; returns its path."""
    engine = open_engine(database_url)
    try:
        figures = compute(read_events(engine), load_vocabulary())
    finally:
        engine.dispose()
    out.mkdir(parents=True, exist_ok=True)
    page = out / "report.html"
    page.write_text(render(figures), encoding="utf-8")
    return page


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.analytics", description=__doc__)
    parser.add_argument("--database-url", help="SQLAlchemy URL of the tracker store")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    try:
        page = write_report(tracker_store_url(args.database_url), args.out)
    except TrackerStoreUnavailable as error:
        print(f"error: no report written: {error}", file=sys.stderr)
        return 1
    print(f"Conversation report written to {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
