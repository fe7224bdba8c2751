"""The TextNormalizer components in Rasa: trained from training data, persisted, loaded, run in front
of the real spaCy entity ruler, and the parse result shows the patient's own text with entity
offsets on it."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.entity_synonyms import EntitySynonymMapper
from rasa.nlu.extractors.spacy_entity_extractor import SpacyEntityExtractor
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.data import TrainingType
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import read_config_file

from bot import settings
from bot.nlu.spacy_pipeline import build_pipeline
from bot.nlu.text_normalizer import NORMALIZATION, TextNormalizer, TextNormalizerRestore
from tests.rasa_component_fixtures import graph_context

DIMENSIONS = ["treatment", "skin_type", "concern", "aspect"]


def _examples() -> List[Message]:
    return [
        Message(
            data={
                TEXT: "how long is the recovery after microneedling",
                INTENT: "ask_recovery",
                ENTITIES: [{"start": 31, "end": 44, "entity": "treatment", "value": "microneedling"}],
            }
        ),
        Message(
            data={
                TEXT: "what is exfoliaton and who does it",
                INTENT: "ask_treatment_info",
                ENTITIES: [{"start": 8, "end": 18, "entity": "treatment", "value": "exfoliaton"}],
            }
        ),
        Message(
            data={
                TEXT: "is lazer resurfacng safe",
                INTENT: "ask_side_effects",
                ENTITIES: [{"start": 3, "end": 19, "entity": "treatment", "value": "laser_resurfacing"}],
            }
        ),
        Message(data={TEXT: "stopped isotretinoin last year", INTENT: "inform"}),
        Message(data={TEXT: "hi there", INTENT: "greet"}),
    ]


@pytest.fixture
def training_data() -> TrainingData:
    """The generated vocabulary (lookup tables and synonyms from the knowledge base) and a few examples."""
    return load_data(str(settings.VOCABULARY_TRAINING_FILE)).merge(TrainingData(training_examples=_examples()))


@pytest.fixture
def trained(tmp_path: Path, training_data: TrainingData, monkeypatch: pytest.MonkeyPatch) -> TextNormalizer:
    """Trained, persisted and loaded again, as `rasa train` and `rasa run` do; the knowledge file is
    out of reach when the model loads."""
    storage = LocalModelStorage(tmp_path)
    resource = Resource("train_TextNormalizer0")
    TextNormalizer.create({}, storage, resource, graph_context()).train(training_data)
    monkeypatch.setenv("POREGUIDE_KNOWLEDGE", str(tmp_path / "no-such-knowledge-file.yml"))
    return TextNormalizer.load({}, storage, resource, graph_context())


@pytest.fixture(scope="module")
def spacy_nlp(knowledge, tmp_path_factory: pytest.TempPathFactory) -> SpacyNLP:
    directory = tmp_path_factory.mktemp("spacy") / "poreguide_en"
    build_pipeline(knowledge).to_disk(directory)
    return SpacyNLP.create({"model": str(directory)}, None, None, graph_context())


def _parse(text: str, normalizer: TextNormalizer, spacy_nlp: SpacyNLP, training_data: TrainingData) -> Message:
    """The inference pipeline of config.yml, up to the restore step."""
    model = spacy_nlp.provide()
    messages = normalizer.process([Message(data={TEXT: text})])
    messages = spacy_nlp.process(messages, model)
    extractor = SpacyEntityExtractor.create({"dimensions": DIMENSIONS}, None, None, graph_context())
    messages = extractor.process(messages, model)
    mapper = EntitySynonymMapper.create({}, None, None, graph_context(), synonyms=dict(training_data.entity_synonyms))
    messages = mapper.process(messages)
    return TextNormalizerRestore.create({}, None, None, graph_context()).process(messages)[0]


def test_typos_are_corrected_before_spacy_and_the_patients_text_comes_back(trained, spacy_nlp, training_data):
    text = "How long is the recovry after micro neddling, Siobhan?"
    message = _parse(text, trained, spacy_nlp, training_data)
    assert message.get(TEXT) == text
    entities = [(text[e["start"] : e["end"]], e["entity"], e["value"]) for e in message.get(ENTITIES)]
    assert entities == [("recovry", "aspect", "recovery"), ("micro neddling", "treatment", "microneedling")]
    output = message.as_dict(only_output_properties=True)
    assert output[TEXT] == text and NORMALIZATION not in output


def test_offsets_after_a_longer_correction_are_shifted_back(trained, spacy_nlp, training_data):
    text = "exfolaition or lazer resurfacng for my enlaged pores and sensitve skin"
    message = _parse(text, trained, spacy_nlp, training_data)
    entities = [(text[e["start"] : e["end"]], e["value"]) for e in message.get(ENTITIES)]
    assert entities == [
        ("exfolaition", "exfoliation"),
        ("lazer resurfacng", "laser_resurfacing"),
        ("enlaged pores", "large_pores"),
        ("sensitve", "sensitive"),
    ]


def test_an_entity_over_the_whole_corrected_text_covers_the_whole_original(trained):
    text = "my face is swolen and blistring"
    message = trained.process([Message(data={TEXT: text})])[0]
    corrected = message.get(TEXT)
    assert corrected == "my face is swollen and blistering"
    message.set(ENTITIES, [{"entity": "red_flag_level", "value": "urgent", "start": 0, "end": len(corrected)}])
    restored = TextNormalizerRestore.create({}, None, None, graph_context()).process([message])[0]
    assert restored.get(TEXT) == text
    assert [(e["start"], e["end"]) for e in restored.get(ENTITIES)] == [(0, len(text))]


def test_a_message_without_typos_is_left_exactly_as_it_was(trained, spacy_nlp, training_data):
    message = _parse("is lazer or microneedling better", trained, spacy_nlp, training_data)
    assert message.get(NORMALIZATION) is None
    assert [(e["start"], e["end"], e["value"]) for e in message.get(ENTITIES)] == [
        (3, 8, "laser_resurfacing"),
        (12, 25, "microneedling"),
    ]


def test_training_examples_are_corrected_and_their_annotations_follow(trained, training_data, tmp_path: Path):
    trained.process_training_data(training_data)
    examples = {e.get(INTENT): e for e in training_data.training_examples if e.get(INTENT)}
    annotated = [
        (e.get(TEXT), [(e.get(TEXT)[x["start"] : x["end"]], x["value"]) for x in e.get(ENTITIES)])
        for e in (examples["ask_treatment_info"], examples["ask_side_effects"])
    ]
    assert annotated == [
        ("what is exfoliation and who does it", [("exfoliation", "exfoliation")]),  # the value was the typed text
        ("is laser resurfacing safe", [("laser resurfacing", "laser_resurfacing")]),  # an explicit value stays
    ]
    # so the synonym mapper does not learn the corrected word as a synonym of the typo
    mapper = EntitySynonymMapper.create({}, LocalModelStorage(tmp_path), Resource("synonyms"), graph_context())
    mapper.train(training_data)
    assert mapper.synonyms.get("exfoliation", "exfoliation") == "exfoliation"
    assert mapper.synonyms["exfoliaton"] == "exfoliation"


def test_words_of_the_training_examples_are_never_spell_checked(trained):
    message = trained.process([Message(data={TEXT: "stopped isotretinoin"})])[0]
    assert message.get(TEXT) == "stopped isotretinoin"


def test_intent_payloads_and_empty_messages_are_untouched(trained):
    payload = '/inform{"treatment": "lazer resurfacng"}'
    messages = trained.process([Message(data={TEXT: payload}), Message(data={TEXT: ""}), Message(data={})])
    assert [m.get(TEXT) for m in messages] == [payload, "", None]


def test_a_model_without_the_vocabulary_leaves_messages_alone(tmp_path: Path):
    normalizer = TextNormalizer.load({}, LocalModelStorage(tmp_path), Resource("missing"), graph_context())
    assert normalizer.process([Message(data={TEXT: "recovry"})])[0].get(TEXT) == "recovry"


def test_config_puts_the_normalizer_first_and_the_restore_last():
    """Restore is last but for the bare-name reader, which reads the text as typed."""
    config = read_config_file(str(settings.PROJECT_ROOT / "config.yml"))
    names = [component["name"] for component in config["pipeline"]]
    assert names[0] == "bot.nlu.text_normalizer.TextNormalizer" and names[1] == "SpacyNLP"
    assert names[-2:] == ["bot.nlu.text_normalizer.TextNormalizerRestore", "bot.nlu.bare_names.BareNameReader"]
    graph = DefaultV1Recipe().graph_config_for_recipe(config, {}, training_type=TrainingType.NLU)
    train = graph.train_schema.nodes
    assert train["run_SpacyNLP1"].needs["training_data"] == "run_bot.nlu.text_normalizer.TextNormalizer0"
    assert train["train_bot.nlu.text_normalizer.TextNormalizer0"].needs["training_data"] == "nlu_training_data_provider"
    predict = graph.predict_schema.nodes
    assert predict["run_SpacyNLP1"].needs["messages"] == "run_bot.nlu.text_normalizer.TextNormalizer0"
