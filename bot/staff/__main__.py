"""`python -m bot.staff purge|outbox`: the retention purge on demand (`make purge`), and how many
staff notices wait per channel. The same code as the action server's daily purge."""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from sqlalchemy.exc import SQLAlchemyError

from bot import settings
from bot.notices.config import RetentionSettings, StaffConfigError
from bot.notices.outbox import Outbox
from bot.persistence.database import get_engine
from bot.staff.retention import purge
from bot.staff.tracker_events import tracker_url


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    database_url = args.database_url or settings.database_url()
    try:
        if args.command == "purge":
            retention = RetentionSettings.from_env()
            report = purge(
                get_engine(database_url), get_engine(args.tracker_url or tracker_url(args.database_url)), retention
            )
            print(report.summary(retention))
        else:
            waiting = Outbox(get_engine(database_url)).waiting()
            print(
                "Staff notices waiting: "
                + (", ".join(f"{count} by {channel}" for channel, count in sorted(waiting.items())) or "none")
                + "."
            )
    except StaffConfigError as error:
        print(f"Invalid setting: {error}", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:  # the message may quote a URL or data: the class only
        print(f"Could not reach the database ({type(error).__name__}).", file=sys.stderr)
        return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.staff", description=__doc__)
    parser.add_argument("command", choices=("purge", "outbox"))
    parser.add_argument("--database-url", help="requests and notices (default: DATABASE_URL, else var/poreguide.db)")
    parser.add_argument("--tracker-url", help="conversations (default: TRACKER_STORE_URL, else the database)")
    return parser


if __name__ == "__main__":
    from bot.settings import load_dotenv

    load_dotenv()  # the retention periods the server uses (.env), not the defaults
    sys.exit(main())
