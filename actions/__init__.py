"""PoreGuide custom actions, run by `rasa run actions`; each module covers one concern."""
