"""Where conversations live: a SQL tracker store (SQLite by default, PostgreSQL in production),
a lock store that keeps one conversation's messages in order across Rasa processes, and the
health state both report to, so a failing database is visible instead of silently bypassed."""
