"""Safety: everything that keeps a patient who reports a bad reaction, or asks for medical advice,
from getting the wrong answer. The one place to start reading:

- `screening.py`: detection. The knowledge file's red-flag phrases and screening rules, matched
  against a message (emergency, urgent, an expected effect, a request for a prescription or
  diagnosis), with the questions, hearsay, past and idioms that must not raise an alarm.
- `red_flag_guard.py`: the NLU component (config.yml) that lets the screening overrule the intent
  classifier, with the phrase lists stored inside the trained model.
- `actions/safety.py`: the advice actions (rasa_sdk lives in `actions/`): the urgent-care reply,
  the expected-effect reassurance, the refusal to diagnose or prescribe, the staff alert.
- Tests: tests/test_safety_screening.py, tests/test_actions_safety.py, tests/test_safety_conversations.py
  and the labelled messages in tests/safety/."""
