"""`python -m bot.knowledge check|seed`: validate the knowledge file, or seed the database from it."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import List, Optional

from bot import settings
from bot.knowledge.schema import KnowledgeError, load_knowledge
from bot.knowledge.seed import seed_database
from bot.persistence.database import get_engine


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.knowledge", description=__doc__)
    parser.add_argument("command", choices=("check", "seed"))
    parser.add_argument("--force", action="store_true", help="seed even if the file is unchanged")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = settings.knowledge_file()
    try:
        knowledge = load_knowledge(path)
    except KnowledgeError as error:
        print(f"Invalid knowledge file: {error}", file=sys.stderr)
        return 2
    if args.command == "check":
        print(f"{path}: OK ({len(knowledge.treatments)} treatments, {len(knowledge.all_facts())} facts)")
        return 0
    seed_database(get_engine(), knowledge, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
