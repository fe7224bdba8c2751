"""`python -m bot.staff_page serve|add-user|set-password|remove-user|list-users`: the staff page
server, and its accounts. Passwords are typed twice at a prompt that does not echo, or given on
one line of standard input with --password-stdin (for provisioning scripts); never as an
argument, which `ps` and shell histories would show."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from typing import List, Optional

from sqlalchemy.exc import SQLAlchemyError

from bot import settings
from bot.persistence.database import get_engine
from bot.staff_page import audit
from bot.staff_page.auth import AccountError, Accounts, check_password
from bot.staff_page.config import StaffPageConfigError, StaffPageSettings

CLI_ACTOR = "(command line)"


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    database_url = args.database_url or settings.database_url()
    try:
        if args.command == "serve":
            return _serve(args, database_url)
        accounts = Accounts(get_engine(database_url))
        return _account_command(args, accounts)
    except StaffPageConfigError as error:
        print(f"Invalid setting: {error}", file=sys.stderr)
        return 2
    except AccountError as error:
        print(f"Not done: {error}.", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:  # the message may quote a URL or data: the class only
        print(f"Could not reach the database ({type(error).__name__}).", file=sys.stderr)
        return 1


def _account_command(args: argparse.Namespace, accounts: Accounts) -> int:
    engine = accounts.engine
    if args.command == "list-users":
        names = accounts.names()
        print("\n".join(names) if names else "No staff accounts yet: python -m bot.staff_page add-user NAME")
        return 0
    if args.command == "remove-user":
        if not accounts.remove(args.name):
            print(f"There is no account named {args.name!r}.", file=sys.stderr)
            return 1
        audit.record(engine, CLI_ACTOR, audit.USER_REMOVED, None, args.name.strip().lower())
        print(f"Removed the account {args.name.strip().lower()!r} and signed it out everywhere.")
        return 0
    password = _password(args.password_stdin)
    if args.command == "add-user":
        name = accounts.add(args.name, password)
        audit.record(engine, CLI_ACTOR, audit.USER_ADDED, None, name)
        print(f"Created the staff account {name!r}.")
        return 0
    if not accounts.set_password(args.name, password):
        print(f"There is no account named {args.name!r}.", file=sys.stderr)
        return 1
    audit.record(engine, CLI_ACTOR, audit.PASSWORD_SET, None, args.name.strip().lower())
    print("Password changed; the account was signed out everywhere.")
    return 0


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password (at least 12 characters): ")
        check_password(password)
        if getpass.getpass("The same password again: ") != password:
            raise AccountError("the two passwords differ")
    check_password(password)
    return password


def _serve(args: argparse.Namespace, database_url: str) -> int:
    from aiohttp import web

    from bot.security import log_privacy
    from bot.staff.tracker_events import tracker_url
    from bot.staff_page.app import AccessLogger, create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s staff-page %(levelname)s %(name)s %(message)s")
    log_privacy.install()  # no email, phone or message text in this process's log, whoever writes it
    page_settings = StaffPageSettings.from_env()
    port = args.port or page_settings.port
    interface = args.interface or page_settings.interface
    if not page_settings.secret_from_env:
        logging.getLogger("bot.staff_page").warning(
            "STAFF_SECRET is not set: a random one is used, so a restart signs everyone out (see .env.example)."
        )
    engine = get_engine(database_url)
    app = create_app(page_settings, engine, get_engine(args.tracker_url or tracker_url(args.database_url)))
    if not Accounts(engine).names():
        print("No staff accounts yet: create one with  python -m bot.staff_page add-user NAME", flush=True)
    print(f"Staff page on http://{interface}:{port}/ (Ctrl-C to stop).", flush=True)
    web.run_app(app, host=interface, port=port, access_log_class=AccessLogger, print=None)
    return 0


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        default=None,
        help="requests, accounts, audit log (default: DATABASE_URL, else var/poreguide.db)",
    )
    parser = argparse.ArgumentParser(prog="python -m bot.staff_page", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", parents=[common], help="run the staff page (STAFF_PORT, STAFF_INTERFACE)")
    serve.add_argument("--port", type=int, help="default: STAFF_PORT, else 5006")
    serve.add_argument("--interface", help="default: STAFF_INTERFACE, else 127.0.0.1")
    serve.add_argument("--tracker-url", help="conversations (default: TRACKER_STORE_URL, else the database)")
    for name, text in (("add-user", "create a staff account"), ("set-password", "replace an account's password")):
        command = commands.add_parser(name, parents=[common], help=text)
        command.add_argument("name", metavar="NAME")
        command.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    commands.add_parser("remove-user", parents=[common], help="delete an account and end its sessions").add_argument(
        "name", metavar="NAME"
    )
    commands.add_parser("list-users", parents=[common], help="the account names")
    return parser


if __name__ == "__main__":
    from bot.settings import load_dotenv

    load_dotenv()  # STAFF_*, DATABASE_URL and TRACKER_STORE_URL as `make serve` uses them
    sys.exit(main())
