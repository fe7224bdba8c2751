"""Shows stored requests to staff: an aligned table for the screen, a CSV file for spreadsheets."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Iterable, List, Sequence

from bot.consultations.submission import ConsultationRecord

# Kind: consultation, or callback (the person asked to be phoned, not for a slot).
HEADERS = ("Reference", "Created (UTC)", "Name", "Email", "Phone", "Treatment", "Preferred time", "Kind")
# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def cells(record: ConsultationRecord) -> List[str]:
    """One record as text, in the order of HEADERS."""
    details = record.details
    return [
        record.reference,
        record.created_at.strftime("%Y-%m-%d %H:%M"),
        details.name,
        details.email or "",
        details.phone or "",
        details.preferred_treatment or "",
        details.preferred_time or "",
        details.kind,
    ]


def format_table(records: Sequence[ConsultationRecord]) -> str:
    """Columns padded to their widest cell, separated by two spaces."""
    rows = [list(HEADERS), *(cells(record) for record in records)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(HEADERS))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def neutralise_formula(cell: str) -> str:
    """Prefix a quote so a spreadsheet shows the text instead of running it (a phone `+44…` becomes `'+44…`)."""
    return "'" + cell if cell.startswith(_FORMULA_TRIGGERS) else cell


def write_csv(records: Iterable[ConsultationRecord], path: Path) -> int:
    """Write a CSV with a header; returns the number of records. The file is readable by its owner only,
    as it holds personal data; utf-8-sig so spreadsheets read accented names correctly."""
    count = 0
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(descriptor, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for record in records:
            writer.writerow([neutralise_formula(cell) for cell in cells(record)])
            count += 1
    return count
