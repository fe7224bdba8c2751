"""`python -m bot.consultations list|export|delete`: staff tools for stored consultation requests.

`delete` removes one person's data everywhere it is stored (`bot.staff.erasure`): their requests,
the conversations those came from, and the staff notices about them."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from sqlalchemy.exc import SQLAlchemyError

from bot import settings
from bot.consultations.references import is_reference
from bot.consultations.report import format_table, write_csv
from bot.consultations.repository import ConsultationRepository, ConsultationStoreUnavailable
from bot.consultations.validation import InvalidContact
from bot.persistence.database import get_engine
from bot.staff.erasure import Person, erase
from bot.staff.tracker_events import tracker_url


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    try:
        engine = get_engine(getattr(args, "database_url", None) or settings.database_url())
    except SQLAlchemyError as error:  # a malformed URL or missing driver; the URL may hold a password, so not echoed
        print(f"Invalid database URL ({type(error).__name__}).", file=sys.stderr)
        return 2
    repository = ConsultationRepository(engine)
    try:
        return args.run(repository, args)
    except ConsultationStoreUnavailable as error:
        print(f"Could not reach the consultation database: {error}", file=sys.stderr)
        return 1
    except InvalidContact as error:
        print(f"Not a valid email address or phone number: {error.reason}", file=sys.stderr)
        return 2


def _list(repository: ConsultationRepository, args: argparse.Namespace) -> int:
    records = repository.list_requests()
    print(format_table(records) if records else "No consultation requests.")
    return 0


def _export(repository: ConsultationRepository, args: argparse.Namespace) -> int:
    records = repository.list_requests()
    try:
        count = write_csv(records, args.csv)
    except OSError as error:
        print(f"Could not write {args.csv}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"Exported {count} consultation request(s) to {args.csv}.")
    return 0


def _delete(repository: ConsultationRepository, args: argparse.Namespace) -> int:
    if args.reference is not None and not is_reference(args.reference):
        print(f"{args.reference!r} is not a reference like PG-7K3M9Q.", file=sys.stderr)
        return 2
    person = Person(reference=args.reference, email=args.email, phone=args.phone, conversation_id=args.conversation)
    conversations = get_engine(args.tracker_url or tracker_url(getattr(args, "database_url", None)))
    try:
        report = erase(repository.engine, conversations, person)
    except SQLAlchemyError as error:  # the message may quote the person's details: the class only
        raise ConsultationStoreUnavailable(
            f"the deletion did not complete; run the same command again ({type(error).__name__})"
        ) from None
    print(report.summary())
    return 0


def _parser() -> argparse.ArgumentParser:
    # --database-url is accepted before or after the command; SUPPRESS keeps a subcommand from resetting it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        default=argparse.SUPPRESS,
        help="SQLAlchemy URL (default: DATABASE_URL, else the SQLite file under var/)",
    )
    parser = argparse.ArgumentParser(prog="python -m bot.consultations", description=__doc__, parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", parents=[common], help="show all requests, newest first").set_defaults(run=_list)
    export = commands.add_parser("export", parents=[common], help="write all requests to a CSV file")
    export.add_argument("--csv", type=Path, required=True, metavar="PATH")
    export.set_defaults(run=_export)
    remove = commands.add_parser(
        "delete", parents=[common], help="delete one person's requests, conversations and staff notices"
    )
    target = remove.add_mutually_exclusive_group(required=True)
    target.add_argument("--reference", metavar="CODE")
    target.add_argument("--email", metavar="ADDRESS")
    target.add_argument("--phone", metavar="NUMBER")
    target.add_argument("--conversation", metavar="SENDER_ID", help="a conversation id from the tracker store")
    remove.add_argument(
        "--tracker-url", metavar="URL", help="where conversations are (default: TRACKER_STORE_URL, else the database)"
    )
    remove.set_defaults(run=_delete)
    return parser


if __name__ == "__main__":
    sys.exit(main())
