"""Where PoreGuide changes behaviour of Rasa 3.6.21 itself, one module per change. Each module
says which Rasa behaviour it changes and why, and tests/test_rasa_overrides.py fails as soon as the
Rasa code it leans on is no longer the code that was read (a Rasa upgrade must re-check them):

- `sql_session_scope`: `SQLTrackerStore.session_scope` ends the process (`sys.exit`) on any
  ValueError; here only a missing PostgreSQL schema is reported, as an error, and nothing exits.
- `intent_parse_warning`: Rasa's "Failed to parse arguments in line '...'" warning quotes the
  whole message a person typed; the log privacy filter keeps only its first, text-free part.
- `action_reply_validation`: Rasa checks its action-reply schema against the JSON-Schema metaschema
  again for every custom action's reply; here the validator is built once (same verdicts, same errors).
"""
