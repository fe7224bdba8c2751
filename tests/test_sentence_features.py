"""SentenceFeaturesOnly empties only the text's token-level features, SentenceCountVectorsFeaturizer gives
Rasa's own sentence counts without the token ones, and what both lean on in Rasa holds:
with no transformer layers, DIET's sequence layer gives the sentence position from the sentence
features alone (Rasa 3.6 `RasaSequenceLayer.call`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.sentence_features import SentenceCountVectorsFeaturizer, SentenceFeaturesOnly
from tests.rasa_component_fixtures import graph_context

ORIGIN = "CountVectorsFeaturizer"


def _featurized(text: str) -> Message:
    tokens = len(text.split())
    message = Message(data={TEXT: text, INTENT: "greet"})
    for rows, kind in ((tokens, FEATURE_TYPE_SEQUENCE), (1, FEATURE_TYPE_SENTENCE)):
        message.add_features(Features(scipy.sparse.random(rows, 50, density=0.2, format="coo"), kind, TEXT, ORIGIN))
    message.add_features(Features(np.ones((tokens, 3)), FEATURE_TYPE_SEQUENCE, TEXT, "dense"))
    message.add_features(Features(np.ones((1, 4)), FEATURE_TYPE_SEQUENCE, INTENT, ORIGIN))
    return message


def test_token_level_text_features_become_one_empty_position_and_nothing_else_changes():
    message = _featurized("how long does a chemical peel take to heal")
    before = list(message.features)

    SentenceFeaturesOnly().process([message])

    after = message.features
    assert [(f.type, f.attribute, f.origin) for f in after] == [(f.type, f.attribute, f.origin) for f in before]
    sparse_tokens, sentence, dense_tokens, intent = after
    assert sparse_tokens.is_sparse() and sparse_tokens.features.shape == (1, 1) and sparse_tokens.features.nnz == 0
    assert not dense_tokens.is_sparse() and dense_tokens.features.shape == (1, 1) and not dense_tokens.features.any()
    assert sentence is before[1] and intent is before[3]
    sequence, sentences = message.get_sparse_features(TEXT)
    assert sequence is not None and sequence.features.shape == (1, 1)
    assert sentences is not None and (sentences.features != before[1].features).nnz == 0


def test_training_data_is_changed_in_place_and_returned():
    data = TrainingData([_featurized("hi there"), _featurized("what does microneedling cost")])

    returned = SentenceFeaturesOnly().process_training_data(data)

    assert returned is data
    for message in data.training_examples:
        sequence, _ = message.get_sparse_features(TEXT)
        assert sequence is not None and sequence.features.shape == (1, 1)


def test_without_transformer_layers_rasas_sentence_position_ignores_the_tokens():
    """Fails if Rasa's sequence layer starts carrying token features into the sentence position
    when `number_of_transformer_layers` is 0: then emptying them would lose information."""
    tf = pytest.importorskip("tensorflow")
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier
    from rasa.utils.tensorflow.constants import NUM_TRANSFORMER_LAYERS, SENTENCE, SEQUENCE
    from rasa.utils.tensorflow.model_data import FeatureSignature
    from rasa.utils.tensorflow.rasa_layers import RasaSequenceLayer

    config = DIETClassifier.get_default_config()
    config[NUM_TRANSFORMER_LAYERS] = 0
    signature = {
        SEQUENCE: [FeatureSignature(is_sparse=False, units=6, number_of_dimensions=3)],
        SENTENCE: [FeatureSignature(is_sparse=False, units=6, number_of_dimensions=3)],
    }
    layer = RasaSequenceLayer(TEXT, signature, config)
    rng = np.random.default_rng(42)
    sentence = tf.constant(rng.normal(size=(2, 1, 6)), tf.float32)
    lengths = tf.constant([4, 2])

    def outputs(tokens: np.ndarray) -> np.ndarray:
        return layer(([tf.constant(tokens, tf.float32)], [sentence], lengths), training=False)[0].numpy()

    first = outputs(rng.normal(size=(2, 4, 6)))
    second = outputs(rng.normal(size=(2, 4, 6)))

    for row, length in enumerate([4, 2]):
        np.testing.assert_allclose(first[row, length], second[row, length], rtol=1e-6)  # the sentence position
        assert not np.allclose(first[row, 0], second[row, 0])  # token positions do follow the tokens


def _trained(featurizer_class: Any, tmp_path: Path, name: str, examples: List[Message]) -> Any:
    (tmp_path / name).mkdir()
    featurizer = featurizer_class.create(
        {**featurizer_class.get_default_config(), "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
        LocalModelStorage(tmp_path / name),
        Resource(name),
        graph_context(),
    )
    featurizer.train(TrainingData(examples))
    return featurizer


def test_the_sentence_featurizer_gives_rasas_sentence_counts_and_one_empty_token_position(tmp_path: Path):
    texts = ["what is microneedling", "how long does a chemical peel take to heal", "hi", "bye now"]
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())

    def tokenized() -> List[Message]:
        messages = [Message(data={TEXT: text, INTENT: "ask"}) for text in texts]
        tokenizer.process(messages)
        return messages

    rasas, ours = tokenized(), tokenized()
    _trained(CountVectorsFeaturizer, tmp_path, "rasa", rasas).process(rasas)
    _trained(SentenceCountVectorsFeaturizer, tmp_path, "ours", ours).process(ours)

    for rasa_message, our_message in zip(rasas, ours):
        rasa_sequence, rasa_sentence = rasa_message.get_sparse_features(TEXT)
        sequence, sentence = our_message.get_sparse_features(TEXT)
        assert rasa_sequence.features.shape[0] == len(rasa_message.get(TOKENS_NAMES[TEXT]))
        assert sequence.features.shape == (1, 1) and sequence.features.nnz == 0
        assert sentence.features.shape == rasa_sentence.features.shape
        assert (sentence.features != rasa_sentence.features).nnz == 0


def test_the_pipeline_only_empties_token_features_for_a_diet_that_cannot_use_them():
    """With transformer layers or entity recognition DIET would read the tokens: then the component must go."""
    import yaml

    from bot import settings

    pipeline = yaml.safe_load((settings.PROJECT_ROOT / "config.yml").read_text())["pipeline"]
    names = [component["name"] for component in pipeline]
    assert "bot.nlu.sentence_features.SentenceFeaturesOnly" in names
    diet = next(component for component in pipeline if component["name"] == "DIETClassifier")
    assert diet["number_of_transformer_layers"] == 0 and diet["entity_recognition"] is False
    assert names.index("bot.nlu.sentence_features.SentenceFeaturesOnly") == names.index("DIETClassifier") - 1
