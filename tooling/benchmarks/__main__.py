"""`python -m tooling.benchmarks [--quick] [--turns N] [--folds N] [--out DIR]` (see the package doc)."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path
from typing import List, Optional

from tooling.benchmarks import CROSS_VALIDATED, OUT_DIR
from tooling.benchmarks.processes import BenchmarkError

QUICK_TURNS = 5


def quiet_libraries() -> None:
    """Library deprecation notices and Rasa's per-message debug lines (the in-process NLU
    evaluation) would bury the results on the console; the servers' logs are in files anyway."""
    warnings.simplefilter("ignore")
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.benchmarks", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: reuse PoreGuide's model, 1-epoch default bot, few turns, no cross-validation",
    )
    parser.add_argument("--turns", type=int, help="REST turns per bot (default 200; quick: 5)")
    parser.add_argument("--folds", type=int, help="cross-validation folds, 0 for none (default 5; quick: 0)")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument(
        "--cross-validation-only",
        nargs="+",
        choices=CROSS_VALIDATED,
        metavar="BOT",
        help="only cross-validate poreguide and/or rasa_default (the default pipeline on PoreGuide's "
        "data) and add the figures to the results already in --out",
    )
    parser.add_argument(
        "--no-default-pipeline",
        action="store_true",
        help="do not train Rasa's default pipeline on PoreGuide's data (over an hour on 2 cores since the long "
        "messages were added): no held-out comparison with it",
    )
    args = parser.parse_args(argv)
    turns = args.turns if args.turns is not None else QUICK_TURNS if args.quick else 200
    folds = args.folds if args.folds is not None else 0 if args.quick else 5
    if turns < 1 or folds == 1 or folds < 0:
        parser.error("--turns must be at least 1 and --folds 0 or at least 2")
    if args.cross_validation_only and (args.quick or folds < 2):
        parser.error("--cross-validation-only needs at least 2 folds and no --quick")
    print(
        f"Benchmarking PoreGuide against Rasa's default bot ({'quick' if args.quick else 'full'} mode; "
        f"logs in {args.out / 'logs'})...",
        flush=True,
    )
    quiet_libraries()
    from tooling.benchmarks.runner import Options, cross_validate_only, run

    options = Options(args.quick, turns, folds, args.out, default_pipeline=not args.no_default_pipeline)
    try:
        results = (
            cross_validate_only(options, args.cross_validation_only) if args.cross_validation_only else run(options)
        )
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print((args.out / "results.md").read_text(encoding="utf-8"))
    missed = [target["target"] for target in results["targets"] if target["met"] is False]
    print(f"Results in {args.out}/results.json and results.md" + (f"; targets missed: {len(missed)}" if missed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
