"""The NLU data stays in the annotation form that Rasa parses fastest, and parses as the JSON form does."""

from __future__ import annotations

import re

from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bot import settings

DATA = sorted((settings.PROJECT_ROOT / "data").glob("*.yml"))
JSON_ANNOTATION = re.compile(r"\]\{")  # [text]{"entity": ...}: a JSON schema check per example in Rasa 3.6


def test_training_examples_use_the_short_entity_annotation():
    assert DATA
    for path in DATA:
        examples = enumerate(path.read_text().splitlines(), 1)
        lines = [n for n, line in examples if line.lstrip().startswith("- ") and JSON_ANNOTATION.search(line)]
        assert not lines, f"{path.name}: lines {lines} use the JSON form; write [text](entity:value)"


def test_the_short_form_gives_rasa_the_same_entity_as_the_json_form():
    short = RasaYAMLReader().reads(
        'version: "3.1"\nnlu:\n- intent: ask\n  examples: |\n    - is [micro needling](treatment:microneedling) safe\n'
    )
    long = RasaYAMLReader().reads(
        'version: "3.1"\nnlu:\n- intent: ask\n  examples: |\n'
        '    - is [micro needling]{"entity": "treatment", "value": "microneedling"} safe\n'
    )
    assert [m.get("entities") for m in short.training_examples] == [m.get("entities") for m in long.training_examples]
    assert short.training_examples[0].get("entities")[0]["value"] == "microneedling"
    assert short.entity_synonyms == long.entity_synonyms == {"micro needling": "microneedling"}
