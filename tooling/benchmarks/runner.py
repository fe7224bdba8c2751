"""The benchmark from start to finish: train (or, in quick mode, reuse PoreGuide's model), serve and
talk to both bots, score the NLU, write the results and charts."""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import yaml
from sqlalchemy import create_engine

from bot import settings
from bot.analytics.charts import bar_chart
from bot.launcher import action_server, endpoints_file
from tooling.benchmarks import CROSS_VALIDATED, OUT_DIR, machine
from tooling.benchmarks import results as results_file
from tooling.benchmarks.action_timing import action_call_p50_ms, action_endpoint
from tooling.benchmarks.folds import CV_SEED, FoldSplit, split_nlu_data
from tooling.benchmarks.nlu_quality import copy_plots, cross_validation, held_out_figures, rasa_test_plots
from tooling.benchmarks.processes import BenchmarkError, peak_rss_mb, rasa_environment
from tooling.benchmarks.profiling import profiled, summarise
from tooling.benchmarks.projects import POREGUIDE, Project, default_pipeline_on, scaffold_default_bot
from tooling.benchmarks.serving import measure_server
from tooling.benchmarks.training import retrain_after_response_edit, train
from tooling.benchmarks.turn_profile import turn_profile
from tooling.benchmarks.turns import FIRST_MESSAGE, default_bot_messages, poreguide_questions
from tooling.evaluation import DEFAULT_MODEL, HELD_OUT_FILE, evaluate, load_examples
from tooling.ports import free_ports

QUICK_NOTE = (
    "Quick mode (the tests' smoke run): PoreGuide's trained model is reused and nothing is retrained, "
    "so training times are not measured; few turns; no cross-validation and no default pipeline on "
    "PoreGuide's data. Run `make bench` for real figures."
)
NO_DEFAULT_PIPELINE_NOTE = (
    "Run with --no-default-pipeline: Rasa's default pipeline was not trained on PoreGuide's data, so the "
    "held-out comparison with it is not measured."
)
SERVING_NOTE = (
    "PoreGuide runs with its shipped endpoints.yml (SQL tracker store, here on a temporary SQLite file; "
    "action server on a seeded SQLite knowledge base); the default bot with what `rasa init` writes "
    "(in-memory tracker store, no action server), served by Rasa's own `rasa run` where PoreGuide runs "
    "`bot.rasa_run` with its overrides. Both REST only."
)


TURN_PROFILE_TURNS = 100  # under cProfile, in this process (`tooling.benchmarks.turn_profile`)

Validator = Callable[[Project, FoldSplit, Path, Path], Optional[float]]


@dataclass(frozen=True)
class Options:
    quick: bool = False
    turns: int = 200
    folds: int = 5
    out: Path = OUT_DIR
    default_pipeline: bool = True  # train Rasa's default pipeline on PoreGuide's data (held-out comparison)


@dataclass(frozen=True)
class Models:
    poreguide: Path
    default_bot: Path
    default_pipeline_nlu: Optional[Path]


def _train_both(options: Options, default_bot: Project, work: Path, logs: Path, figures: Dict[str, Any]) -> Models:
    peer = train(default_bot, work / default_bot.name, logs)
    figures["rasa_default"]["train_s"] = peer.seconds
    if options.quick:
        if not DEFAULT_MODEL.exists():
            raise BenchmarkError(f"no trained model at {DEFAULT_MODEL}: run `make train` first")
        return Models(DEFAULT_MODEL, peer.model, None)
    poreguide = train(POREGUIDE, work / POREGUIDE.name, logs)
    figures["poreguide"]["train_s"] = poreguide.seconds
    for key, project in (("poreguide", POREGUIDE), ("rasa_default", default_bot)):
        figures[key]["retrain_s"] = retrain_after_response_edit(project, work / project.name, logs).seconds
    if not options.default_pipeline:
        return Models(poreguide.model, peer.model, None)
    default_nlu = train(default_pipeline_on(POREGUIDE, default_bot), work / "default_pipeline", logs, nlu_only=True)
    return Models(poreguide.model, peer.model, default_nlu.model)


def _seeded_database(directory: Path) -> str:
    from bot.knowledge.schema import load_knowledge
    from bot.knowledge.seed import seed_database

    url = f"sqlite:///{directory / 'knowledge.db'}"
    engine = create_engine(url, future=True)
    seed_database(engine, load_knowledge(settings.knowledge_file()))
    engine.dispose()
    return url


def _without_stores(endpoints: Path) -> Path:
    """A copy of `endpoints` without tracker and lock store: Rasa's in-memory defaults."""
    config = yaml.safe_load(endpoints.read_text(encoding="utf-8")) or {}
    path = endpoints.with_name(f"in-memory-{endpoints.name}")
    path.write_text(
        yaml.safe_dump({key: value for key, value in config.items() if key not in ("tracker_store", "lock_store")}),
        encoding="utf-8",
    )
    return path


def _serve_both(
    models: Models, default_bot: Project, work: Path, logs: Path, turns: int, quick: bool, figures: Dict[str, Any]
) -> None:
    """Each Rasa server alone on the machine (see SERVING_NOTE)."""
    credentials = work / "credentials.yml"
    credentials.write_text("rest:\n", encoding="utf-8")
    (action_port,) = free_ports(1)
    tracker_store = {"TRACKER_STORE_URL": f"sqlite:///{work / 'trackers.db'}"}
    with action_server(
        action_port, logs / "actions.log", extra_env={"DATABASE_URL": _seeded_database(work)}
    ) as actions:
        endpoints = endpoints_file(action_port, work)
        served = measure_server(
            "poreguide",
            models.poreguide,
            endpoints,
            credentials,
            FIRST_MESSAGE,
            poreguide_questions(),
            turns,
            logs / "rasa-poreguide.log",
            tracker_store,
        )
        figures["poreguide"].update(
            vars(served),
            action_server_rss_mb=peak_rss_mb(actions.pid),
            action_call_p50_ms=action_call_p50_ms(*action_endpoint(endpoints, rasa_environment()), calls=turns),
        )
        figures["turn_profile"]["poreguide"] = turn_profile(
            models.poreguide,
            endpoints,
            poreguide_questions(),
            min(turns, TURN_PROFILE_TURNS),
            {**rasa_environment(), "TRACKER_STORE_URL": f"sqlite:///{work / 'profiled-trackers.db'}"},
        )
        if not quick:  # the same bot with Rasa's in-memory tracker store: what the SQL store costs a turn
            in_memory = measure_server(
                "poreguide_in_memory",
                models.poreguide,
                _without_stores(endpoints),
                credentials,
                FIRST_MESSAGE,
                poreguide_questions(),
                turns,
                logs / "rasa-poreguide-in-memory.log",
            )
            figures["diagnostics"]["poreguide_in_memory_tracker_store"] = vars(in_memory)
    served = measure_server(
        "rasa_default",
        models.default_bot,
        default_bot.root / "endpoints.yml",
        credentials,
        FIRST_MESSAGE,
        default_bot_messages(default_bot.data / "nlu.yml"),
        turns,
        logs / "rasa-default.log",
        plain_rasa=True,
    )
    figures["rasa_default"].update(vars(served))


def _score_nlu(
    options: Options, models: Models, default_bot: Project, work: Path, logs: Path, figures: Dict[str, Any]
) -> None:
    scores, stats = profiled(evaluate, models.poreguide, HELD_OUT_FILE)
    figures["poreguide_nlu"].update(held_out_figures(scores))
    figures["profile"]["poreguide"] = summarise(stats, len(load_examples(HELD_OUT_FILE)))
    if not options.quick:  # the quick mode saves this model load (a minute on 2 busy cores)
        peer_nlu = default_bot.data / "nlu.yml"
        _, stats = profiled(evaluate, models.default_bot, peer_nlu)  # its own examples: for the profile only
        figures["profile"]["rasa_default"] = summarise(stats, len(load_examples(peer_nlu)))
    if models.default_pipeline_nlu:
        figures["rasa_default_nlu"].update(held_out_figures(evaluate(models.default_pipeline_nlu, HELD_OUT_FILE)))
    tested = rasa_test_plots(POREGUIDE, models.poreguide, HELD_OUT_FILE, work / "test-heldout", logs)
    _add_plots(figures, copy_plots(tested, options.out, "poreguide_heldout"))


def _cross_validate(
    options: Options,
    default_bot: Project,
    work: Path,
    logs: Path,
    figures: Dict[str, Any],
    which: Sequence[str] = CROSS_VALIDATED,
    validate: Validator = cross_validation,
) -> None:
    """The longest phase by far (Rasa's default pipeline: 10 to 27 minutes a fold on 2 cores, depending
    on the machine), so the figures measured so far are written before each project. Projects on the
    same data are scored on the very same fold files (seeded: the same in every run too)."""
    projects = {"poreguide": POREGUIDE, "rasa_default": default_pipeline_on(POREGUIDE, default_bot)}
    splits: Dict[Path, FoldSplit] = {}
    for key in which:
        project = projects[key]
        if project.data not in splits:
            splits[project.data] = split_nlu_data(project.data, options.folds, CV_SEED, work / f"folds-{len(splits)}")
        split = splits[project.data]
        _checkpoint(figures, options.out, f"cross-validating {key}_nlu ({options.folds} folds)")
        cv_out = work / f"cv-{key}"
        figures[f"{key}_nlu"]["cv_intent_macro_f1"] = validate(project, split, cv_out, logs)
        figures[f"{key}_nlu"]["cv_split"] = split.describe()
        _add_plots(figures, copy_plots(cv_out, options.out, f"{key}_cv"))


def cross_validate_only(
    options: Options, which: Sequence[str], validate: Validator = cross_validation
) -> Dict[str, Any]:
    """Adds the cross-validation of `which` to the results of an earlier run in `options.out`.
    Rasa's default pipeline alone takes 47 minutes to over two hours on 2 cores, so it can be
    measured on its own; the note in the results says when. The folds are seeded, so a figure
    measured later is on the same folds as one already there (results.md says whether they are)."""
    path = options.out / "results.json"
    if not path.exists():
        raise BenchmarkError(f"no {path}: run `make bench` first (`--folds 0` skips its cross-validation)")
    figures = json.loads(path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="poreguide-bench-cv-") as temporary:
        work = Path(temporary)
        _cross_validate(
            options, scaffold_default_bot(work / "default_bot"), work, options.out / "logs", figures, which, validate
        )
    figures["notes"].append(
        f"Cross-validation of {', '.join(which)} ({options.folds} seeded folds, seed {CV_SEED}) "
        f"measured separately, {machine.describe()['date']}."
    )
    measured = all(figures[f"{key}_nlu"]["cv_intent_macro_f1"] is not None for key in CROSS_VALIDATED)
    _finish(figures, options.out, "complete" if measured or figures["status"] == "complete" else figures["status"])
    return figures


def _finish(figures: Dict[str, Any], out: Path, status: str) -> None:
    """Ratios, targets, their chart and the files for the figures measured so far."""
    figures["status"] = status
    figures["ratios"] = results_file.ratios(figures["poreguide"], figures["rasa_default"])
    figures["targets"] = results_file.targets(figures)
    _add_plots(figures, [_ratio_chart(figures["ratios"], out)])
    results_file.write(figures, out)


def _add_plots(figures: Dict[str, Any], names: List[str]) -> None:
    """Adds plot file names once each; a new list, so a checkpoint's copy leaves the run's own alone."""
    figures["plots"] = list(dict.fromkeys([*figures["plots"], *names]))


def _checkpoint(figures: Dict[str, Any], out: Path, phase: str) -> None:
    """results.json/.md as they stand, so an interrupted run still leaves what it measured."""
    _finish(dict(figures), out, f"in progress: {phase}")


def _ratio_chart(ratios: Dict[str, Optional[float]], out: Path) -> str:
    measured = {results_file.TIMING_LABELS[key]: value for key, value in ratios.items() if value is not None}
    path = out / "bench_ratios.png"
    path.write_bytes(
        bar_chart(measured, "PoreGuide / Rasa default bot (1.0 = same)", "ratio", horizontal=True, reference=1.0)
    )
    return path.name


def _empty_figures(options: Options) -> Dict[str, Any]:
    bot_keys = {key: None for key in results_file.TIMINGS}
    nlu_keys = {key: None for key in results_file.NLU_KEYS}
    return {
        "mode": "quick" if options.quick else "full",
        "machine": machine.describe(),
        "poreguide": dict(bot_keys),
        "rasa_default": dict(bot_keys),
        "poreguide_nlu": dict(nlu_keys),
        "rasa_default_nlu": dict(nlu_keys),
        "profile": {},
        "turn_profile": {},
        "diagnostics": {},
        "plots": [],
        "notes": [QUICK_NOTE, SERVING_NOTE]
        if options.quick
        else [SERVING_NOTE] + ([] if options.default_pipeline else [NO_DEFAULT_PIPELINE_NOTE]),
    }


def run(options: Options) -> Dict[str, Any]:
    """The whole benchmark; writes results.json, results.md and the PNGs to `options.out`."""
    logs = options.out / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    options.out.mkdir(parents=True, exist_ok=True)
    for old_plot in options.out.glob("*.png"):
        old_plot.unlink()
    figures = _empty_figures(options)
    with tempfile.TemporaryDirectory(prefix="poreguide-bench-") as temporary:
        work = Path(temporary)
        default_bot = scaffold_default_bot(work / "default_bot")
        models = _train_both(options, default_bot, work, logs, figures)
        _checkpoint(figures, options.out, "serving both bots")
        _serve_both(models, default_bot, work, logs, options.turns, options.quick, figures)
        _checkpoint(figures, options.out, "scoring the NLU")
        _score_nlu(options, models, default_bot, work, logs, figures)
        if options.folds:
            _cross_validate(options, default_bot, work, logs, figures)
    _finish(figures, options.out, "complete")
    return figures
