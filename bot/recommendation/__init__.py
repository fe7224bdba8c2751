"""Guided recommendation: ranks the treatments for a person's answers with the knowledge base's rules."""
