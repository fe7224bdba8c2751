"""What the tests of Rasa components and overrides share: the graph context Rasa hands a component
it creates or loads (the NLU component tests build components outside a graph), and the project's
conversations as Rasa's trackers (the dialogue overrides are compared with Rasa on them)."""

from __future__ import annotations

from typing import List, Sequence, Tuple

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrainingDataGenerator
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.importers.importer import TrainingDataImporter

from bot import settings

MODEL = settings.TRAINED_MODEL
# The training stories and rules, and both conversation-test files (with the text of each message).
CONVERSATIONS = ("data", "tests/test_stories.yml", "tests/test_digressions.yml")


def graph_context() -> ExecutionContext:
    """An empty graph's context: what `create`, `load` and `train` of an NLU component need."""
    return ExecutionContext(GraphSchema({}), "test")


def require_trained_model() -> None:
    if not MODEL.is_file():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it first)")


def conversation_trackers(paths: Sequence[str] = CONVERSATIONS) -> Tuple[Domain, List[DialogueStateTracker]]:
    """The domain, and every tracker a point in the conversations of `paths` leads to: a prediction
    is made on each. Plain trackers, not the generator's, which refuse any domain but the one they
    were made with (the trained model's is another object)."""
    importer = TrainingDataImporter.load_from_dict(
        domain_path=str(settings.PROJECT_ROOT / "domain.yml"),
        training_data_paths=[str(settings.PROJECT_ROOT / path) for path in paths],
    )
    domain = importer.get_domain()
    stories = TrainingDataGenerator(
        importer.get_stories(), domain, augmentation_factor=0, use_story_concatenation=False
    ).generate()
    return domain, [
        DialogueStateTracker.from_events(story.sender_id, list(prior.events), domain.slots)
        for story in stories
        for prior, _ in story.generate_all_prior_trackers()
    ]
