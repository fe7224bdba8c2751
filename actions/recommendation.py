"""The guided recommendation: asks the knowledge base's questions one at a time (with buttons),
understands typed answers with the knowledge base's words, and ranks the options with its rules."""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Sequence, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.knowledge_access import apologise_if_unavailable, bullet_list, format_facts, repository
from bot.knowledge.schema import Question
from bot.recommendation.ranking import rank

FORM = "recommendation_form"
QUESTIONS = ("skin_type", "concern", "downtime", "setting", "safety")
RECOMMENDED = "recommended_treatment"
# Intents whose messages must reach their own rules, never fill a questionnaire answer.
NEVER_AN_ANSWER = ("report_red_flag", "stop")


MAX_GAP = 2  # words allowed between the words of a phrase: "can't take ANY time off"


def match_answer(question: Question, text: Optional[str]) -> Optional[str]:
    """The answer value that `text` means: a value, a button title, or one of its words.

    The longest matching phrase wins, so "combination" beats "combo" and "no cold sores" counts
    as cold sores (asking a dermatologist about it is the safe reading)."""
    said = _words(str(text or "").replace("_", " "))
    best, best_length = None, 0
    for value, title in question.answers.items():
        for candidate in (value.replace("_", " "), title, *question.words.get(value, ())):
            phrase = _words(candidate)
            if phrase and _occurs(phrase, said) and len(candidate) > best_length:
                best, best_length = value, len(candidate)
    return best


def _words(text: str) -> List[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("'", "").replace("\u2019", ""))


def _occurs(phrase: List[str], said: List[str]) -> bool:
    """Whether the phrase's words appear in order, each within MAX_GAP words of the previous."""
    for start, word in enumerate(said):
        if word != phrase[0]:
            continue
        position = start
        for expected in phrase[1:]:
            window = said[position + 1 : position + 2 + MAX_GAP]
            if expected not in window:
                break
            position += 1 + window.index(expected)
        else:
            return True
    return False


def answer_buttons(question: Question) -> List[Dict[str, str]]:
    """One button per answer; the payload sets the slot directly, whatever the NLU thinks."""
    return [
        {"title": title, "payload": "/inform" + json.dumps({question.key: value})}
        for value, title in question.answers.items()
    ]


class ValidateRecommendationForm(FormValidationAction):
    """Understands typed answers to the question just asked, whatever the NLU made of them ("at
    home" may read as a question about home treatment), and accepts only known answers. A message
    that answers nothing is left alone, so the form steps aside and the question gets answered."""

    def name(self) -> Text:
        return "validate_recommendation_form"

    async def extract_skin_type(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._extract("skin_type", tracker)

    async def extract_concern(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._extract("concern", tracker)

    async def extract_downtime(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._extract("downtime", tracker)

    async def extract_setting(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._extract("setting", tracker)

    async def extract_safety(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._extract("safety", tracker)

    @staticmethod
    def _extract(slot: str, tracker: Tracker) -> Dict[Text, Any]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if tracker.get_slot("requested_slot") != slot or intent in NEVER_AN_ANSWER:
            return {}
        question = repository().recommendation().questions[slot]
        matched = match_answer(question, tracker.latest_message.get("text"))
        return {slot: matched} if matched else {}

    async def validate_skin_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._validate("skin_type", value, dispatcher, tracker)

    async def validate_concern(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._validate("concern", value, dispatcher, tracker)

    async def validate_downtime(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._validate("downtime", value, dispatcher, tracker)

    async def validate_setting(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._validate("setting", value, dispatcher, tracker)

    async def validate_safety(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._validate("safety", value, dispatcher, tracker)

    @staticmethod
    def _validate(slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        question = repository().recommendation().questions[slot]
        matched = match_answer(question, value)
        if matched is not None:
            return {slot: matched}
        if tracker.get_slot("requested_slot") != slot:
            return {slot: None}  # only a crafted payload gets here: an unknown value never stays
        changed_other = any(
            entity.get("entity") in QUESTIONS and entity.get("entity") != slot
            for entity in tracker.latest_message.get("entities") or []
        )
        dispatcher.utter_message(response="utter_answer_updated" if changed_other else "utter_pick_an_answer")
        return {slot: None}


class AskRecommendationQuestion(Action, ABC):
    """Asks one recommendation question, worded as in the knowledge base, with its buttons.
    Abstract, so the action server registers only the subclasses, one per question."""

    @property
    @abstractmethod
    def slot(self) -> str:
        """The form slot this action asks for."""

    def name(self) -> Text:
        return f"action_ask_{self.slot}"

    @apologise_if_unavailable
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        question = repository().recommendation().questions[self.slot]
        dispatcher.utter_message(text=question.prompt, buttons=answer_buttons(question))
        return []


class AskSkinType(AskRecommendationQuestion):
    slot = "skin_type"


class AskConcern(AskRecommendationQuestion):
    slot = "concern"


class AskDowntime(AskRecommendationQuestion):
    slot = "downtime"


class AskSetting(AskRecommendationQuestion):
    slot = "setting"


class AskSafety(AskRecommendationQuestion):
    slot = "safety"


class ActionRecommendTreatments(Action):
    """Ranks the treatments for the answers: best first with reasons, those to avoid with why,
    or, when a safety answer calls for it, a dermatologist before any of them."""

    def name(self) -> Text:
        return "action_recommend_treatments"

    @apologise_if_unavailable
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        knowledge = repository()
        recommendation = knowledge.recommendation()
        answers = {slot: tracker.get_slot(slot) for slot in QUESTIONS}
        treatments = knowledge.treatments()
        names = {item.key: item.name for item in treatments}
        result = rank(answers, recommendation.rules, list(names))
        if result.see_doctor_first:
            dispatcher.utter_message(text=" ".join(result.see_doctor_first))
            dispatcher.utter_message(response="utter_see_dermatologist_first")
            return [SlotSet(RECOMMENDED, None)]
        summaries = knowledge.facts_by_treatment("summary", list(names))
        lines = [
            f"{position}. {names[option.treatment]}: {format_facts(summaries[option.treatment])}"
            + (f" Why: {_sentences(option.reasons)}" if option.reasons else "")
            for position, option in enumerate(result.ranked, start=1)
        ]
        text = "Based on your answers, the options in order:\n" + "\n".join(lines)
        if result.avoided:
            avoided = [f"{names[option.treatment]}: {_sentences(option.reasons)}" for option in result.avoided]
            text += "\nBetter to avoid for now:\n" + bullet_list(avoided)
        dispatcher.utter_message(text=text)
        dispatcher.utter_message(response="utter_confirm_with_dermatologist")
        top = result.ranked[0].treatment if result.ranked else None
        return [SlotSet(RECOMMENDED, top)]


def _sentences(reasons: Sequence[str]) -> str:
    """Rule reasons are written to follow "because"; as stand-alone sentences they get a capital."""
    return " ".join(reason[:1].upper() + reason[1:] for reason in reasons)
