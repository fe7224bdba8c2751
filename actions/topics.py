"""Answers about pores in general: why shrink them, what the options are, and what they cost."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge_access import (
    apologise_if_unavailable,
    bullet_list,
    format_facts,
    repository,
)
from bot.knowledge.schema import CONCEPT_TOPIC_PREFIX


class ActionExplainWhySmallerPores(Action):
    def name(self) -> Text:
        return "action_explain_why_smaller_pores"

    @apologise_if_unavailable
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        facts = repository().facts("why_smaller_pores")
        dispatcher.utter_message(
            text="Why people shrink enlarged pores:\n" + bullet_list([format_facts([f]) for f in facts])
        )
        return []


class ActionListOptions(Action):
    def name(self) -> Text:
        return "action_list_options"

    @apologise_if_unavailable
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        knowledge = repository()
        buttons = [
            {"title": item.name, "payload": "/ask_treatment_info" + json.dumps({"treatment": item.key})}
            for item in knowledge.treatments()
        ]
        dispatcher.utter_message(text=format_facts(knowledge.facts("options")), buttons=buttons)
        return []


class ActionAnswerCost(Action):
    def name(self) -> Text:
        return "action_answer_cost"

    @apologise_if_unavailable
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        knowledge = repository()
        dispatcher.utter_message(text=format_facts(knowledge.facts("cost")))
        dispatcher.utter_message(response="utter_clinic_contact", **knowledge.clinic().template_values())
        return []


class ActionAnswerConcept(Action):
    """ "What does collagen have to do with pores?", "will it make my skin firmer?": the article's
    facts about that concept (collagen, dead skin, trapped dirt, blotchy skin, firmness)."""

    def name(self) -> Text:
        return "action_answer_concept"

    @apologise_if_unavailable
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        knowledge = repository()
        concept = next(tracker.get_latest_entity_values("concept"), None)
        if concept is None:
            # No concept word recognised: the article's reasons cover dirt, blackheads and blotchiness.
            dispatcher.utter_message(text=format_facts(knowledge.facts("why_smaller_pores")))
            return []
        facts = knowledge.facts(CONCEPT_TOPIC_PREFIX + str(concept))
        dispatcher.utter_message(
            text=bullet_list([format_facts([fact]) for fact in facts]) if len(facts) > 1 else format_facts(facts)
        )
        return []
