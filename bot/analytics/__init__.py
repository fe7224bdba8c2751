"""Conversation analytics for staff: `python -m bot.analytics` reads Rasa's SQL tracker store
(its standard `events` table) and writes an HTML report with counts and charts. It reports only
aggregate counts of names the project defines (intents, actions, treatment keys), so no personal
data (sender ids, message texts, names, contact details) can reach the page."""
