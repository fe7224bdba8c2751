"""Language resources generated from the knowledge base: the spaCy pipeline and NLU vocabulary."""
