"""The graph context Rasa hands a component it creates or loads; the NLU component tests build
components outside a graph and share this one."""

from __future__ import annotations

from rasa.engine.graph import ExecutionContext, GraphSchema


def graph_context() -> ExecutionContext:
    """An empty graph's context: what `create`, `load` and `train` of an NLU component need."""
    return ExecutionContext(GraphSchema({}), "test")
