"""The base of PoreGuide's NLU components that neither train nor keep anything in the model."""

from __future__ import annotations

from typing import Any, Dict, Text, Type, TypeVar

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage

S = TypeVar("S", bound="StatelessComponent")


class StatelessComponent(GraphComponent):
    """Rasa builds it with `create` and gives it messages to `process`; it needs nothing else."""

    @classmethod
    def create(
        cls: Type[S],
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> S:
        return cls()
