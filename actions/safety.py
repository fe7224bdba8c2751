"""Red flags: a bad reaction after a treatment is answered first, with urgent-care advice, and
holds back recommendations and bookings until the person says they are fine. The advice never
depends on the database: if it is down, it comes from the knowledge file, else from the domain."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_access import from_database_or_file
from bot.knowledge.schema import Clinic, RedFlags
from bot.safety.red_flags import EMERGENCY, RedFlagDetector

RED_FLAG_SLOT = "red_flag_active"


def _red_flags_and_clinic() -> Optional[Tuple[RedFlags, Clinic]]:
    return from_database_or_file(lambda db: (db.red_flags(), db.clinic()),
                                 lambda file: (file.red_flags, file.clinic))


class ActionHandleRedFlag(Action):
    def name(self) -> Text:
        return "action_handle_red_flag"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        found = _red_flags_and_clinic()
        if found is None:
            dispatcher.utter_message(response="utter_red_flag_fallback")
            return [SlotSet(RED_FLAG_SLOT, True)]
        flags, clinic = found
        # The NLU intent alone (no phrase found) is treated as urgent; emergency phrases escalate.
        level = RedFlagDetector(flags).level(tracker.latest_message.get("text") or "")
        dispatcher.utter_message(text=flags.emergency.advice if level == EMERGENCY else flags.urgent.advice)
        dispatcher.utter_message(response="utter_red_flag_contact", **clinic.template_values())
        return [SlotSet(RED_FLAG_SLOT, True)]


class ActionClearRedFlag(Action):
    def name(self) -> Text:
        return "action_clear_red_flag"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_glad_you_are_fine")
        return [SlotSet(RED_FLAG_SLOT, False)]
