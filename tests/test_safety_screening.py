"""The keyword floor under the classifier (bot/safety/screening.py), on its own, with the classifier's
answer removed, and the NLU guard that applies it."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.safety.red_flag_guard import (
    EXPECTED_EFFECT_INTENT,
    LEVEL_ENTITY,
    MEDICAL_INTENT,
    RED_FLAG_INTENT,
    RedFlagGuard,
)
from bot.safety.screening import EMERGENCY, URGENT, Screener, phrase_pattern, sentences
from tests.rasa_component_fixtures import graph_context
from tests.safety.cases import MAX_BENIGN_FALSE_ALARMS, load_cases

CASES = load_cases()


@pytest.fixture(scope="module")
def screener(knowledge):
    return Screener(knowledge.red_flags, knowledge.screening)


def test_the_floor_alone_catches_every_emergency_in_the_safety_file(screener):
    missed = [text for text in CASES["emergency"] if screener.screen(text).red_flag != EMERGENCY]
    assert not missed, f"{len(missed)} emergencies not caught as emergencies:\n" + "\n".join(missed)


def test_the_floor_alone_catches_every_urgent_report_in_the_safety_file(screener):
    missed = [text for text in CASES["urgent"] if screener.screen(text).red_flag is None]
    assert not missed, f"{len(missed)} red flags missed:\n" + "\n".join(missed)


def test_the_floor_alone_raises_at_most_two_false_alarms_on_look_alikes(screener):
    alarms = [text for text in CASES["benign"] if screener.screen(text).red_flag]
    assert len(alarms) <= MAX_BENIGN_FALSE_ALARMS, "\n".join(alarms)


def test_the_floor_alone_recognises_every_medical_request(screener):
    missed = [text for text in CASES["medical"] if not screener.screen(text).medical_request]
    assert not missed, "\n".join(missed)


@pytest.mark.parametrize(
    "text,level",
    [
        ("i can't breathe properly after the laser", EMERGENCY),
        ("Trouble Breathing since the peel", EMERGENCY),
        ("my lips and eyelids are swelling up fast", EMERGENCY),
        ("theres pus coming out where they did the microneedling", URGENT),
        ("pus coming out of spots on my cheek three days after microneedling", URGENT),
        ("the redness is spreading down my neck", URGENT),
        ("how long is recovery after laser", None),
        ("can microneedling cause an infection?", None),  # a question about a possibility
        ("does the laser burn off the dead skin?", None),  # "burn" as the mechanism
        ("i have hay fever, can i still book laser?", None),  # an idiom
        ("i had a blister from a peel in 2022, totally healed now", None),  # over
        ("i saw a video of a girl whose face blistered, does that happen a lot?", None),  # hearsay
        ("is it normal that my face is oozing after the peel?", URGENT),  # "is it normal" tells of someone
    ],
)
def test_levels(screener, text, level):
    assert screener.screen(text).red_flag == level


@pytest.mark.parametrize(
    "text",
    [
        "i had microneedling yesterday and my face is still a little red, that's expected, right?",
        "a bit red and puffy the day after laser, normal?",
    ],
)
def test_expected_effects_are_not_red_flags(screener, text):
    screening = screener.screen(text)
    assert screening.red_flag is None and screening.expected_effect


@pytest.mark.parametrize(
    "text,medical",
    [
        ("how much isotretinoin should i take", True),
        ("is it rosacea or just big pores?", True),
        ("which exfoliating product should i buy", True),
        ("do i need antibiotics after microneedling", True),
        ("what is microneedling", False),
        ("can i exfoliate at home?", False),
        ("i was on accutane last year", False),  # an answer to the safety question, not a request
    ],
)
def test_medical_requests(screener, text, medical):
    assert screener.screen(text).medical_request is medical


def test_a_word_is_whole_only_without_an_apostrophe_and_letters_after_it():
    pattern = phrase_pattern(["can", "blister*"])
    assert pattern.search("can i") and not pattern.search("can't breathe")
    assert pattern.search("Blistering") and not pattern.search("unblistered")


def test_sentences_split_a_long_message_into_what_is_reported_and_what_is_asked():
    assert sentences("Hi! My face is swollen, and now it oozes. Is that normal?") == [
        "Hi!",
        "My face is swollen",
        "and now it oozes.",
        "Is that normal?",
    ]


def _message(text, intent, confidence=0.9):
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence})
    message.set("intent_ranking", [{"name": intent, "confidence": confidence}])
    return message


def _level(message):
    return next((e["value"] for e in message.get("entities") or [] if e["entity"] == LEVEL_ENTITY), None)


@pytest.fixture(scope="module")
def guard(screener):
    return RedFlagGuard({}, screener)


def test_guard_overrides_a_confident_faq_intent_for_a_report(guard):
    [message] = guard.process([_message("my face is oozing pus since my laser", "ask_side_effects", 0.97)])
    assert message.get("intent") == {"name": RED_FLAG_INTENT, "confidence": 1.0}
    assert message.get("intent_ranking")[1]["name"] == "ask_side_effects"
    assert _level(message) == URGENT


def test_guard_marks_an_emergency(guard):
    [message] = guard.process([_message("my throat is closing up after the peel", "greet", 0.99)])
    assert message.get("intent")["name"] == RED_FLAG_INTENT and _level(message) == EMERGENCY


def test_guard_leaves_a_side_effect_question_alone(guard):
    [message] = guard.process([_message("will laser cause swelling?", "ask_side_effects", 0.95)])
    assert message.get("intent")["name"] == "ask_side_effects" and _level(message) is None


def test_guard_turns_a_false_alarm_on_an_expected_effect_into_reassurance(guard):
    [message] = guard.process([_message("still a little red the day after microneedling, normal?", RED_FLAG_INTENT)])
    assert message.get("intent")["name"] == EXPECTED_EFFECT_INTENT


def test_guard_keeps_a_red_flag_the_classifier_alone_found_as_urgent(guard):
    [message] = guard.process([_message("something is very wrong with my face after the treatment", RED_FLAG_INTENT)])
    assert message.get("intent")["name"] == RED_FLAG_INTENT and _level(message) == URGENT


def test_guard_refers_a_medical_request_whatever_the_classifier_said(guard):
    [message] = guard.process([_message("how many mg of doxycycline should i take", "ask_recommendation", 0.99)])
    assert message.get("intent")["name"] == MEDICAL_INTENT


def test_guard_reads_its_phrases_from_the_knowledge_file():
    [message] = RedFlagGuard({}).process([_message("I can't breathe", "greet", 0.99)])
    assert message.get("intent")["name"] == RED_FLAG_INTENT


def test_guard_trusts_the_screening_when_it_read_the_red_flag_words_as_a_question(guard):
    message = _message("can a peel cause blisters?", RED_FLAG_INTENT, 0.7)
    message.set(
        "intent_ranking",
        [{"name": RED_FLAG_INTENT, "confidence": 0.7}, {"name": "ask_side_effects", "confidence": 0.2}],
    )
    [message] = guard.process([message])
    assert message.get("intent") == {"name": "ask_side_effects", "confidence": 0.2}


def test_guard_gives_full_confidence_to_a_red_flag_the_classifier_was_unsure_of(guard):
    [message] = guard.process([_message("blisters came up on my chin after the peel", RED_FLAG_INTENT, 0.4)])
    assert message.get("intent") == {"name": RED_FLAG_INTENT, "confidence": 1.0}


def test_guard_refers_a_screened_request_the_fallback_classifier_gave_up_on(guard):
    message = _message("is it safe to take metformin and do microneedling", "nlu_fallback", 0.35)
    [message] = guard.process([message])
    assert message.get("intent") == {"name": MEDICAL_INTENT, "confidence": 1.0}


@pytest.mark.parametrize(
    "text",
    [
        "is it possible to be allergic to a peel",
        "hypothetically, if my face went really red after a peel would that be bad",
        "does the laser feel hot on your face while its happening",
    ],
)
def test_guard_drops_a_classifiers_red_flag_for_a_message_that_only_supposes(guard, text):
    message = _message(text, RED_FLAG_INTENT, 0.6)
    message.set(
        "intent_ranking",
        [{"name": RED_FLAG_INTENT, "confidence": 0.6}, {"name": "ask_side_effects", "confidence": 0.3}],
    )
    [message] = guard.process([message])
    assert message.get("intent")["name"] == "ask_side_effects"


def test_guard_keeps_a_classifiers_red_flag_for_an_effect_not_said_to_be_mild(guard):
    [message] = guard.process([_message("my face is swollen and red after the peel", RED_FLAG_INTENT, 0.9)])
    assert message.get("intent")["name"] == RED_FLAG_INTENT and _level(message) == URGENT


def test_guard_screens_the_text_as_typed_too_so_a_correction_never_hides_a_request(guard):
    """The TextNormalizer may turn a brand it does not know into a word ("differin" -> "differing")."""
    from bot.nlu.text_normalizer import NORMALIZATION

    message = _message("is differing good for pores?", "ask_recommendation", 0.9)
    message.set(NORMALIZATION, {"original": "is differin good for pores?", "replacements": []})
    [message] = guard.process([message])
    assert message.get("intent")["name"] == MEDICAL_INTENT


@pytest.mark.parametrize(
    "text",
    [
        "my bank account is bleeding from skincare products lol, how much is a peel",
        "there was a reddit post where someones face swelled up after laser, how likely is that",
    ],
)
def test_guard_drops_a_classifiers_red_flag_for_an_idiom_or_hearsay(guard, text):
    message = _message(text, RED_FLAG_INTENT, 0.7)
    message.set(
        "intent_ranking", [{"name": RED_FLAG_INTENT, "confidence": 0.7}, {"name": "ask_cost", "confidence": 0.2}]
    )
    [message] = guard.process([message])
    assert message.get("intent")["name"] == "ask_cost"


def _trained_guard(storage_path, knowledge_file, monkeypatch):
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    monkeypatch.setenv("POREGUIDE_KNOWLEDGE", str(knowledge_file))
    storage_path.mkdir()
    storage, resource = LocalModelStorage(storage_path), Resource("red_flag_guard")
    context = graph_context()
    RedFlagGuard.create({}, storage, resource, context).train(None)
    return storage, resource, context


def test_the_trained_model_carries_the_phrase_lists(tmp_path, monkeypatch):
    """Loading reads the knowledge file stored at training, not whatever the environment names."""
    from bot import settings

    storage, resource, context = _trained_guard(tmp_path / "model", settings.DEFAULT_KNOWLEDGE_FILE, monkeypatch)
    monkeypatch.setenv("POREGUIDE_KNOWLEDGE", str(tmp_path / "no-such-file.yml"))
    loaded = RedFlagGuard.load({}, storage, resource, context)
    [message] = loaded.process([_message("I can't breathe", "greet", 0.99)])
    assert message.get("intent")["name"] == RED_FLAG_INTENT and _level(message) == EMERGENCY


def test_changed_phrase_lists_change_the_guards_fingerprint_and_other_edits_do_not(tmp_path, monkeypatch):
    import yaml

    from bot import settings

    copy = tmp_path / "treatments.yml"
    data = yaml.safe_load(settings.DEFAULT_KNOWLEDGE_FILE.read_text(encoding="utf-8"))
    copy.write_text(yaml.safe_dump(data), encoding="utf-8")
    monkeypatch.setenv("POREGUIDE_KNOWLEDGE", str(copy))
    before = RedFlagGuard.fingerprint_addon({})
    data["clinic"]["phone"] = "+1 555-0199"
    copy.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert RedFlagGuard.fingerprint_addon({}) == before, "a clinic edit retrained the safety floor"
    data["screening"]["idioms"] = [*data["screening"]["idioms"], "pins and needles"]
    copy.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert RedFlagGuard.fingerprint_addon({}) != before


def test_the_models_safety_rules_do_not_depend_on_the_rest_of_the_schema(tmp_path, monkeypatch):
    """A model keeps loading after the clinic section's schema changes (it stores only the safety sections)."""
    from bot import settings
    from bot.knowledge import schema

    storage, resource, context = _trained_guard(tmp_path / "model", settings.DEFAULT_KNOWLEDGE_FILE, monkeypatch)
    monkeypatch.setattr(schema, "_clinic", lambda entry: pytest.fail("the clinic section was parsed"))
    loaded = RedFlagGuard.load({}, storage, resource, context)
    [message] = loaded.process([_message("my face is swollen and oozing pus after the peel", "greet", 0.99)])
    assert message.get("intent")["name"] == RED_FLAG_INTENT


def test_training_refuses_a_broken_knowledge_file(tmp_path, monkeypatch):
    from bot.knowledge.schema import KnowledgeError

    broken = tmp_path / "treatments.yml"
    broken.write_text("clinic: {}\n", encoding="utf-8")
    with pytest.raises(KnowledgeError):
        _trained_guard(tmp_path / "model", broken, monkeypatch)
