"""What the benchmark says to each bot: PoreGuide gets held-out knowledge questions (answered by a
custom action that reads the knowledge database), Rasa's default bot the examples of its own data."""

from __future__ import annotations

from pathlib import Path
from typing import List

from tooling.evaluation import HELD_OUT_FILE, load_examples

# Intents answered by a custom action from the knowledge database (see data/rules.yml); the
# treatment ones only when a treatment is named (else the action asks which one).
GENERAL_INTENTS = frozenset({"compare_treatments", "ask_cost", "ask_options", "ask_why_shrink_pores"})
TREATMENT_INTENTS = frozenset(
    {
        "ask_treatment_info",
        "ask_how_it_works",
        "ask_who_performs",
        "ask_recovery",
        "ask_side_effects",
        "ask_at_home",
        "ask_precautions",
    }
)
FIRST_MESSAGE = "hello"  # both bots greet back; used to time the cold start


def poreguide_questions(held_out: Path = HELD_OUT_FILE) -> List[str]:
    """Held-out knowledge questions (never seen in training)."""
    return [
        example.text
        for example in load_examples(held_out)
        if example.intent in GENERAL_INTENTS or (example.intent in TREATMENT_INTENTS and example.entities)
    ]


def default_bot_messages(nlu_file: Path) -> List[str]:
    return [example.text for example in load_examples(nlu_file)]
