"""bot.rasa_overrides.model_loading: a DIET loaded without Rasa's one-example fit predicts exactly what
Rasa's own loading predicts, traces no training step, and refuses a checkpoint that does not fit."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.models import RasaModel

from bot.rasa_overrides import model_loading
from tests.rasa_component_fixtures import graph_context

pytestmark = pytest.mark.slow  # trains a small DIET (TensorFlow)

EXAMPLES = {
    "greet": ["hi", "hello there", "hey", "good morning"],
    "ask_recovery": ["how long to heal", "what is the downtime", "how long is recovery", "when can i go out"],
    "ask_cost": ["how much is it", "what does it cost", "price please", "is it expensive"],
}
UNSEEN = ["hiya", "how long does healing take", "what is the price", "downtime after a peel", "morning"]
DIET_CONFIG = {"epochs": 3, "number_of_transformer_layers": 0, "entity_recognition": False, "random_seed": 42}


class _Pipeline:
    """Whitespace tokens and word counts: the features a DIET needs, trained on EXAMPLES."""

    def __init__(self, storage: LocalModelStorage) -> None:
        self.tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
        self.featurizer = CountVectorsFeaturizer.create(
            CountVectorsFeaturizer.get_default_config(), storage, Resource("counts"), graph_context()
        )
        training = TrainingData(self.messages([(text, i) for i, texts in EXAMPLES.items() for text in texts]))
        self.featurizer.train(training)
        self.training = training
        self.featurizer.process_training_data(training)

    def messages(self, labelled: List[Any]) -> List[Message]:
        messages = [Message(data={TEXT: text, **({INTENT: intent} if intent else {})}) for text, intent in labelled]
        self.tokenizer.process(messages)
        return messages

    def featurized(self, texts: List[str]) -> List[Message]:
        return self.featurizer.process(self.messages([(text, None) for text in texts]))


def _rankings(classifier: DIETClassifier, messages: List[Message]) -> List[Dict[str, float]]:
    classifier.process(messages)
    return [{r["name"]: r["confidence"] for r in m.get("intent_ranking")} for m in messages]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Any:
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    pipeline = _Pipeline(storage)
    config = {**DIETClassifier.get_default_config(), **DIET_CONFIG}
    diet = DIETClassifier.create(config, storage, Resource("diet"), graph_context())
    diet.train(pipeline.training)
    return pipeline, storage, config


def _load(trained: Any) -> DIETClassifier:
    _, storage, config = trained
    return DIETClassifier.load(config, storage, Resource("diet"), graph_context())


def test_the_loaded_model_predicts_exactly_what_rasas_loading_predicts(trained: Any, monkeypatch) -> None:
    pipeline = trained[0]
    rasas = _rankings(_load(trained), pipeline.featurized(UNSEEN))

    monkeypatch.setattr(RasaModel, "load", classmethod(model_loading.load_for_prediction))
    ours_classifier = _load(trained)
    ours = _rankings(ours_classifier, pipeline.featurized(UNSEEN))

    assert ours == rasas
    assert len({max(r, key=r.get) for r in ours}) > 1  # a trained model, not one intent for everything
    model = ours_classifier.model
    assert model.train_function is None and model.optimizer is None  # no training step traced or built


def test_a_checkpoint_without_the_models_weights_is_refused(trained: Any, monkeypatch, tmp_path: Path) -> None:
    import tensorflow as tf

    foreign = str(tmp_path / "foreign")
    tf.train.Checkpoint(unrelated=tf.Variable(1.0)).write(foreign)
    keras_load_weights = RasaModel.load_weights
    monkeypatch.setattr(RasaModel, "load_weights", lambda self, _path: keras_load_weights(self, foreign))
    monkeypatch.setattr(RasaModel, "load", classmethod(model_loading.load_for_prediction))

    with pytest.raises(AssertionError):
        _load(trained)
