"""`python -m bot.nlu build`: (re)build the spaCy pipeline and data/vocabulary.yml when the vocabulary changed."""

from __future__ import annotations

import sys

from bot import settings
from bot.knowledge.schema import KnowledgeError, load_knowledge
from bot.nlu.spacy_pipeline import save_pipeline
from bot.nlu.training_vocabulary import write_vocabulary


def main() -> int:
    if sys.argv[1:] != ["build"]:
        print("usage: python -m bot.nlu build", file=sys.stderr)
        return 2
    try:
        knowledge = load_knowledge(settings.knowledge_file())
    except KnowledgeError as error:
        print(f"Invalid knowledge file: {error}", file=sys.stderr)
        return 2
    built = save_pipeline(knowledge, settings.SPACY_PIPELINE_DIR)
    written = write_vocabulary(knowledge, settings.VOCABULARY_TRAINING_FILE)
    print(f"spaCy pipeline {'built' if built else 'up to date'}: {settings.SPACY_PIPELINE_DIR}")
    print(f"NLU vocabulary {'written' if written else 'up to date'}: {settings.VOCABULARY_TRAINING_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
