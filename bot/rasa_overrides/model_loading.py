"""Rasa's loading of a trained DIET, without tracing a training graph in a process that only predicts.

Rasa changed: `rasa.utils.tensorflow.models.RasaModel.load` (3.6.21) creates a loaded model's
variables by compiling it with an Adam optimizer and fitting it on one example, then reads the
weights over them. That traces the whole training step (backward pass, optimizer slots) and keeps it
for the life of the Rasa server: about 110 MiB of its memory (measured 2026-12-01, issue 18) and part
of its start, for a graph it never runs again.

Here the variables are created by one eager prediction (nothing traced), the weights are read (the
optimizer's slots in the checkpoint are left unread; every variable a prediction uses must be
matched, or loading fails), the label embeddings Rasa caches for prediction are dropped so they are
computed from the loaded weights, and the prediction graph is traced once, as Rasa does. A model
loaded for fine-tuning, or without an example to predict on, is loaded by Rasa's own code.
Installed by `bot.rasa_run` and `bot.shell`; tests/test_model_loading.py checks that a model loaded this way
predicts exactly what Rasa's loading predicts."""

from __future__ import annotations

from typing import Any, Optional, Text

from rasa.utils.tensorflow.constants import RUN_EAGERLY
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

_RASAS_LOAD = RasaModel.load.__func__


def load_for_prediction(
    cls: Any,
    model_file_name: Text,
    model_data_example: RasaModelData,
    predict_data_example: Optional[RasaModelData] = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    """`RasaModel.load`'s signature and result, for a model that will only predict."""
    if finetune_mode or predict_data_example is None:
        return _RASAS_LOAD(
            cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
        )
    model = cls(*args, **kwargs)
    model._run_eagerly = True
    model.run_inference(predict_data_example)  # creates the variables a prediction uses
    model._run_eagerly = bool(kwargs.get("config", {}).get(RUN_EAGERLY))
    model.load_weights(model_file_name).assert_existing_objects_matched().expect_partial()
    model.prepared_for_prediction = False  # the cached label embeddings came from the initial weights
    model.run_inference(predict_data_example)  # traces the prediction graph, as Rasa's load does
    return model


def install() -> None:
    """Replace Rasa's method in this process (the Rasa server's, see bot.rasa_run)."""
    RasaModel.load = classmethod(load_for_prediction)
