"""PoreGuide: a Rasa assistant that answers questions about enlarged pores and their treatments."""
