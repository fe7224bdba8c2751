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

tests/test_sentence_features.py fails if Rasa's layer starts carrying tokens into the sentence
position, which would make this component throw information away.
"""

from __future__ import annotations

from typing import List

import numpy as np
import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
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
    empty = scipy.sparse.coo_matrix((1, 1), dtype=np.float32) if features.is_sparse() else np.zeros((1, 1), np.float32)
    return Features(empty, FEATURE_TYPE_SEQUENCE, TEXT, features.origin)
