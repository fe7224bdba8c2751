"""What the staff read: the mail and the Slack text of each notice. Contact details go in the
mail only (it goes to the clinic's own mailbox); Slack gets the reference, the treatment and the
preferred time of a request, and the level, time and link of a red flag, never a message text.

Plain Python templates rather than Jinja2: the action server's own venv (actions/requirements.in)
has no Jinja2, and four short plain-text messages need no template engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from bot.consultations.models import CALLBACK
from bot.consultations.submission import ConsultationRecord
from bot.staff.links import conversation_link

SUBJECT_PREFIX = "PoreGuide"


@dataclass(frozen=True)
class NoticeText:
    """One notice, as each channel shows it."""

    subject: str
    email_body: str
    slack_text: str


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


def slack_escape(text: str) -> str:
    """Slack's three control characters, so a value can neither mention @channel nor link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def request_notice(record: ConsultationRecord, staff_page_url: str) -> NoticeText:
    details = record.details
    if details.kind == CALLBACK:
        return _call_back_notice(record, staff_page_url)
    treatment = details.preferred_treatment or "not decided yet"
    preferred_time = details.preferred_time or "no preference"
    link = conversation_link(staff_page_url, details.conversation_id)
    rows = [
        ("Reference", record.reference),
        ("Received", _time(record.created_at)),
        ("Name", details.name),
        ("Email", details.email or "-"),
        ("Phone", details.phone or "-"),
        ("Treatment", treatment),
        ("Preferred time", preferred_time),
    ]
    body = "\n".join(
        [
            "A patient asked PoreGuide for a consultation and agreed to be contacted.",
            "",
            *(f"{label + ':':<16}{value}" for label, value in rows),
            "",
            f"Conversation:   {link}",
            "",
            "Please contact the patient and record the outcome. This email holds personal data:",
            "do not forward it outside the clinic.",
        ]
    )
    slack = (
        f"New consultation request *{record.reference}*: treatment {slack_escape(treatment)}, "
        f"preferred time {slack_escape(preferred_time)}. Contact details are in the staff email."
    )
    return NoticeText(f"{SUBJECT_PREFIX}: consultation request {record.reference}", body + "\n", slack)


def _call_back_notice(record: ConsultationRecord, staff_page_url: str) -> NoticeText:
    """A person who asked for a human and left a number: no treatment or time was asked."""
    details = record.details
    link = conversation_link(staff_page_url, details.conversation_id)
    rows = [
        ("Reference", record.reference),
        ("Received", _time(record.created_at)),
        ("Name", details.name),
        ("Phone", details.phone or "-"),
        ("Email", details.email or "-"),
    ]
    body = "\n".join(
        [
            "A person asked PoreGuide to talk to someone at the clinic and would like a call back.",
            "",
            *(f"{label + ':':<16}{value}" for label, value in rows),
            "",
            f"Conversation:   {link}",
            "",
            "Please call them back and record the outcome. This email holds personal data:",
            "do not forward it outside the clinic.",
        ]
    )
    slack = f"New call back request *{record.reference}*: please call back. The phone number is in the staff email."
    return NoticeText(f"{SUBJECT_PREFIX}: call back request {record.reference}", body + "\n", slack)


def red_flag_notice(
    level: Optional[str], reported_at: datetime, conversation_id: str, staff_page_url: str
) -> NoticeText:
    level_name = (level or "urgent").upper()
    link = conversation_link(staff_page_url, conversation_id)
    body = "\n".join(
        [
            f"A person reported a possible complication ({level_name}) to PoreGuide at {_time(reported_at)}.",
            "PoreGuide gave them the clinic's advice for this level and the clinic's phone number.",
            "",
            f"Conversation: {link}",
            "",
            "The conversation may identify a patient of the clinic: please read it and decide whether to call.",
        ]
    )
    target = f"<{link}|open the conversation>" if link.startswith(("http://", "https://")) else link
    slack = f":rotating_light: Red flag *{level_name}* reported at {_time(reported_at)}: {target}"
    return NoticeText(f"{SUBJECT_PREFIX}: {level_name} red flag reported", body + "\n", slack)
