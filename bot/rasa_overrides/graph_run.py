"""Rasa's prediction graph run node after node in a plan made once, instead of through dask.

Rasa changed: `rasa.engine.runner.dask.DaskGraphRunner.run` (3.6.21) serves every message parse and
every next-action prediction (about three runs a turn) by cutting the graph schema down to the
target's ancestors, building a dask graph of them, and handing it to `dask.get`, which orders and
schedules the tasks anew each time. In a served turn that was about a tenth of the CPU spent outside
the nodes themselves (cProfile, 2026-12-01, issue 18).

Here the order of the nodes a target needs is worked out once per set of targets and inputs, and the
nodes are then called in that order with what dask would hand them: each parent's `(name, output)`
pair, an input as `(input name, value)`, and the bare name of anything that is neither (which
`GraphNode.__call__` reports as unresolved). Inputs that clash with a node name are refused, a node's
`RuntimeError` becomes Rasa's `GraphRunError`, and the result maps each target to its output, all as
Rasa's runner does. Only nodes that a target needs run, as with dask."""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, List, Optional, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

Plan = Tuple[Tuple[str, Tuple[str, ...]], ...]  # (node name, the names it needs), parents first


def plan(runner: DaskGraphRunner, targets: Tuple[str, ...], inputs: FrozenSet[str]) -> Plan:
    """The nodes that `targets` need, each after the nodes it needs; an input stands in for a node of
    its name, as it replaces that node in Rasa's dask graph."""
    nodes = runner._graph_schema.nodes
    ordered: List[Tuple[str, Tuple[str, ...]]] = []
    placed = set(inputs)

    def place(name: str) -> None:
        if name in placed or name not in nodes:
            return
        placed.add(name)
        needs = tuple(nodes[name].needs.values())
        for parent in needs:
            place(parent)
        ordered.append((name, needs))

    for target in targets:
        place(target)
    return tuple(ordered)


def _cached_plan(runner: DaskGraphRunner, targets: Tuple[str, ...], inputs: FrozenSet[str]) -> Plan:
    plans: Dict[Tuple[Tuple[str, ...], FrozenSet[str]], Plan] = runner.__dict__.setdefault("_run_plans", {})
    found = plans.get((targets, inputs))
    if found is None:
        found = plans[(targets, inputs)] = plan(runner, targets, inputs)
    return found


def run(
    runner: DaskGraphRunner, inputs: Optional[Dict[str, Any]] = None, targets: Optional[List[str]] = None
) -> Dict[str, Any]:
    """What Rasa's `DaskGraphRunner.run` returns, from the same node calls without dask."""
    run_targets = tuple(targets if targets else runner._graph_schema.target_names)
    given = dict(inputs or {})
    steps = _cached_plan(runner, run_targets, frozenset(given))
    resolved: Dict[str, Any] = {name: None for name, _ in steps}
    DaskGraphRunner._add_inputs_to_graph(given, resolved)  # Rasa's check for inputs clashing with nodes
    try:
        for name, needs in steps:
            resolved[name] = runner._instantiated_nodes[name](*(resolved.get(need, need) for need in needs))
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error
    return dict(resolved[target] for target in run_targets)


def install() -> None:
    """Replace Rasa's method in this process (the Rasa server's, see bot.rasa_run)."""
    DaskGraphRunner.run = run
