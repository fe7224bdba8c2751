"""The HTML report: one self-contained page (charts embedded as PNG data URIs) built only from
Figures, every value escaped."""

from __future__ import annotations

import base64
import html
from collections import Counter
from datetime import datetime, timezone
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from bot.analytics.charts import bar_chart
from bot.analytics.metrics import Figures

TOP = 15
STYLE = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
    "td.n{text-align:right}img{max-width:100%}"
)

Row = Tuple[str, object]


def _table(rows: Iterable[Row], header: Optional[Tuple[str, str]] = None) -> str:
    head = f"<tr><th>{html.escape(header[0])}</th><th>{html.escape(header[1])}</th></tr>" if header else ""
    body = "".join(
        f"<tr><td>{html.escape(str(label))}</td><td class=n>{html.escape(str(value))}</td></tr>"
        for label, value in rows
    )
    return f"<table>{head}{body}</table>"


def _image(png: bytes, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _section(
    title: str, intro: str, rows: Sequence[Row], chart: Optional[bytes] = None, header: Optional[Tuple[str, str]] = None
) -> str:
    parts = [f"<h2>{html.escape(title)}</h2>", f"<p>{html.escape(intro)}</p>"]
    if chart is not None:
        parts.append(_image(chart, title))
    parts.append(_table(rows, header))
    return "\n".join(parts)


def _top(counter: Counter[str], limit: int = TOP) -> List[Tuple[str, int]]:
    return counter.most_common(limit)


def _counts_chart(values: Dict[str, int], title: str, label: str, horizontal: bool = False) -> bytes:
    return bar_chart(values, title, label, horizontal=horizontal, counts=True)


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _audit_table(figures: Figures) -> str:
    """One row per safety reply: time (UTC, to the minute), level, channel; never message text."""
    rows = "".join(
        f"<tr><td>{html.escape(r.time)}</td><td>{html.escape(r.level)}</td><td>{html.escape(r.channel)}</td></tr>"
        for r in figures.safety_replies
    )
    return f"<table><tr><th>time (UTC)</th><th>level</th><th>channel</th></tr>{rows}</table>"


def render(figures: Figures, generated: Optional[datetime] = None) -> str:
    generated = generated or datetime.now(timezone.utc)
    days = sorted(figures.per_day.items())
    outcomes = [
        ("started (booking questions opened)", figures.consultations_started),
        *sorted(figures.consultation_outcomes.items()),
    ]
    fallback_per_day = {day: round(100 * rate, 1) for day, rate in figures.fallback_rate_per_day().items()}
    red_flag_days = sorted(figures.red_flags_per_day.items())
    safety = Counter((reply.level, reply.channel) for reply in figures.safety_replies)
    sections = [
        _section(
            "Summary",
            "Totals over every stored conversation.",
            [
                ("conversations", figures.conversations),
                ("user messages", figures.user_messages),
                ("fallback rate", _percent(figures.fallback_rate)),
                ("recommendations given", figures.recommendations),
                ("consultation requests stored", figures.consultation_outcomes.get("stored", 0)),
                ("red-flag messages", figures.red_flag_messages),
            ],
        ),
        _section(
            "Conversations per day",
            "Conversations with at least one user message that day (UTC).",
            days,
            _counts_chart(dict(days), "Conversations per day", "conversations"),
            ("day", "conversations"),
        ),
        _section(
            "Most asked questions",
            f'User messages by intent (top {TOP}); "other" is anything not in the domain.',
            _top(figures.intents),
            _counts_chart(dict(_top(figures.intents)), "Messages by intent", "messages", True),
            ("intent", "messages"),
        ),
        _section(
            "Fallback rate",
            "User messages the assistant did not understand (nlu_fallback) or answered with action_default_fallback.",
            [
                ("fallback turns", figures.fallback_turns),
                ("user messages", figures.user_messages),
                ("fallback rate", _percent(figures.fallback_rate)),
            ],
            bar_chart(fallback_per_day, "Fallback rate per day", "% of user messages"),
        ),
        _section(
            "Treatments asked about",
            "User messages naming each treatment.",
            _top(figures.treatments_asked),
            _counts_chart(dict(_top(figures.treatments_asked)), "Treatments asked about", "messages", True),
            ("treatment", "messages"),
        ),
        _section(
            "Recommendations given",
            "Guided recommendations, by the treatment ranked first.",
            [
                ("recommendations given", figures.recommendations),
                ("of which: see a dermatologist first", figures.see_doctor_first),
                *[(f"ranked first: {name}", count) for name, count in _top(figures.recommended)],
            ],
            _counts_chart(dict(_top(figures.recommended)), "Treatment ranked first", "recommendations", True),
        ),
        _section(
            "Consultation requests",
            "Booking questions opened, and how each request ended.",
            outcomes,
            _counts_chart(dict(outcomes), "Consultation requests", "requests", True),
            ("stage", "count"),
        ),
        _section(
            "Red flags",
            "Messages about a bad reaction after a treatment, answered with urgent-care advice.",
            [
                ("red-flag messages", figures.red_flag_messages),
                ("red-flag answers given", figures.red_flag_answers),
                ("conversations with a red flag", figures.red_flag_conversations),
                ("people who then said they were fine", figures.red_flags_cleared),
            ],
            _counts_chart(dict(red_flag_days), "Red-flag messages per day", "messages"),
        ),
        _section(
            "Safety replies",
            "Every red-flag reply (emergency or urgent advice) and every medical-request "
            "referral (no prescription, dose, diagnosis or product pick), by level and channel.",
            [(f"{level} via {channel}", count) for (level, channel), count in sorted(safety.items())],
            header=("level and channel", "replies"),
        ),
        "<h3>Audit trail</h3>" + _audit_table(figures),
    ]
    return (
        f"<!doctype html>\n<html lang=en><head><meta charset=utf-8><title>PoreGuide conversation report</title>"
        f"<style>{STYLE}</style></head><body>\n<h1>PoreGuide conversation report</h1>\n"
        f"<p>Generated {html.escape(generated.strftime('%Y-%m-%d %H:%M UTC'))}. Aggregate counts only: "
        "no sender ids, messages or contact details.</p>\n" + "\n".join(sections) + "\n</body></html>\n"
    )
