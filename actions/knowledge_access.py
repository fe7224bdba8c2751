"""What every knowledge action shares: the repository, and a clear apology when the database fails."""

from __future__ import annotations

import functools
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.shared import Shared
from bot import settings
from bot.knowledge.repository import FactInfo, KnowledgeRepository, KnowledgeUnavailable
from bot.knowledge.schema import Clinic, KnowledgeBase, KnowledgeError, load_knowledge

logger = logging.getLogger(__name__)

_repository: Shared[KnowledgeRepository] = Shared(KnowledgeRepository)

ActionRun = Callable[..., Awaitable[List[Dict[Text, Any]]]]
T = TypeVar("T")


def repository() -> KnowledgeRepository:
    """The shared repository; its engine is created on the first query, not at import."""
    return _repository.get()


def use_repository(replacement: Optional[KnowledgeRepository]) -> None:
    """Point the actions at another repository (tests, or a second database)."""
    _repository.use(replacement)


def format_facts(facts: List[FactInfo]) -> str:
    """Join facts into one answer, marking general guidance so it is never mistaken for the article."""
    return " ".join(f"{fact.text} (General guidance.)" if fact.general_guidance else fact.text for fact in facts)


def bullet_list(lines: List[str]) -> str:
    return "\n".join(f"• {line}" for line in lines)


def apologise_if_unavailable(run: ActionRun) -> ActionRun:
    """Wrap an action's `run`: a database failure becomes an apology with the clinic's contact."""

    @functools.wraps(run)
    async def wrapper(self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict) -> List[Dict]:
        try:
            return await run(self, dispatcher, tracker, domain)
        except KnowledgeUnavailable as error:
            logger.error("Action %s could not read the knowledge base: %s", self.name(), error)
            _utter_unavailable(dispatcher)
            return []

    return wrapper


def _utter_unavailable(dispatcher: CollectingDispatcher) -> None:
    clinic = _clinic_from_file()
    if clinic is None:
        dispatcher.utter_message(response="utter_knowledge_unavailable_no_contact")
    else:
        dispatcher.utter_message(response="utter_knowledge_unavailable", **clinic.template_values())


@functools.lru_cache(maxsize=1)
def knowledge_from_file() -> Optional[KnowledgeBase]:
    """The knowledge file itself, for answers that must not depend on the database being up."""
    try:
        return load_knowledge(settings.knowledge_file())
    except KnowledgeError as error:
        logger.error("Knowledge file unreadable as well: %s", error.where)
        return None


def from_database_or_file(
    read: Callable[[KnowledgeRepository], T], read_file: Callable[[KnowledgeBase], T]
) -> Optional[T]:
    """`read` from the database or, when it is down, `read_file` from the knowledge file;
    None when neither can be read. For answers that must reach the person regardless."""
    try:
        return read(repository())
    except KnowledgeUnavailable as error:
        logger.error("Read from the knowledge file instead of the database: %s", error)
    knowledge = knowledge_from_file()
    return read_file(knowledge) if knowledge else None


def clinic_from_database_or_file() -> Optional[Clinic]:
    """The clinic's details for replies that must reach the person even when the database is down."""
    return from_database_or_file(lambda db: db.clinic(), lambda file: file.clinic)


def _clinic_from_file() -> Optional[Clinic]:
    knowledge = knowledge_from_file()
    return knowledge.clinic if knowledge else None
