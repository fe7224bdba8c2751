"""Natural-language understanding, built from the knowledge base: the spaCy pipeline builder
(`spacy_pipeline.py`, `patterns.py`, `python -m bot.nlu build`), the NLU training vocabulary
(`training_vocabulary.py` -> data/vocabulary.yml), and PoreGuide's own Rasa NLU components in
config.yml: typo tolerance (`text_normalizer.py` with `spelling.py`) and bare names at the booking
form (`bare_names.py`). The safety guard, also an NLU component, lives with the rest of safety in
`bot/safety/`."""
