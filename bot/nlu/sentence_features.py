"""Gives DIET only the sentence-level features of a message's text (issue 18: training time, memory).

config.yml's DIET has no transformer layers and no entity recognition, so it reads the intent at the
sentence position of its sequence layer and nothing carries the token positions into it: Rasa 3.6's
`RasaSequenceLayer.call` runs only a position-wise feed-forward block when
`number_of_transformer_layers` is 0. The featurizers' token-level (sequence) features therefore
cannot change the intent, yet DIET densifies, trains and runs them for every token of every
message: most of its training time, and memory in the model it loads. DIET refuses a text without
sequence features (`RasaSequenceLayer` raises), so `SentenceFeaturesOnly`, after the last
featurizer, replaces each of the text's token-level matrices by one empty 1x1 matrix: DIET sees a
one-token message carrying the full sentence features.

`SentenceCountVectorsFeaturizer` is Rasa's CountVectorsFeaturizer without that wasted work upstream:
for the text it vectorises the whole message once, where Rasa's `_create_features` also vectorises
every token on its own (half of the featurizer's time, in training and on every turn); other
attributes are left to Rasa.

tests/test_sentence_features.py fails if Rasa's layer starts carrying tokens into the sentence
position, which would make this throw information away, or if the featurizer's sentence features
stop being Rasa's own; bot.rasa_overrides.LEANS_ON pins the Rasa code both lean on.
"""

from __future__ import annotations

from typing import List, Optional, Text, Tuple, Union

import numpy as np
import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.stateless_component import StatelessComponent


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceFeaturesOnly(StatelessComponent):
    """Empties the text's token-level features, in training and at inference alike."""

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            message.features = [_without_tokens(features) for features in message.features]
        return messages


def _without_tokens(features: Features) -> Features:
    """The same features, or, for the text's token-level ones, one empty position of one column."""
    if features.attribute != TEXT or features.type != FEATURE_TYPE_SEQUENCE:
        return features
    return Features(_one_empty_position(features.is_sparse()), FEATURE_TYPE_SEQUENCE, TEXT, features.origin)


def _one_empty_position(sparse: bool = True) -> Union[scipy.sparse.spmatrix, np.ndarray]:
    return scipy.sparse.coo_matrix((1, 1), dtype=np.float32) if sparse else np.zeros((1, 1), np.float32)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SentenceCountVectorsFeaturizer(CountVectorsFeaturizer):
    """Rasa's CountVectorsFeaturizer (same config, vocabulary and sentence features) whose text
    token-level features are the empty 1x1 matrix `SentenceFeaturesOnly` leaves anyway."""

    def _create_features(
        self, attribute: Text, all_tokens: List[List[Text]]
    ) -> Tuple[List[Optional[scipy.sparse.spmatrix]], List[Optional[scipy.sparse.spmatrix]]]:
        vectorizer = self.vectorizers.get(attribute)
        if attribute != TEXT or not vectorizer:
            return super()._create_features(attribute, all_tokens)
        sequences: List[Optional[scipy.sparse.spmatrix]] = []
        sentences: List[Optional[scipy.sparse.spmatrix]] = []
        for tokens in all_tokens:
            if not tokens:
                sequences.append(None)
                sentences.append(None)
                continue
            sentence = vectorizer.transform([" ".join(tokens)])
            sentence.sort_indices()
            sequences.append(_one_empty_position())
            sentences.append(sentence.tocoo())
        return sequences, sentences
