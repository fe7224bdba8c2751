"""The CSV download: the columns of `make requests-csv` (`bot.consultations.report`, the request's
kind included) plus the status and its latest note, every cell guarded against spreadsheet formulas (OWASP "CSV
injection"), utf-8 with a byte-order mark so spreadsheets read accented names correctly."""

from __future__ import annotations

import csv
import io
from typing import Iterable

from bot.consultations.report import HEADERS, cells, neutralise_formula
from bot.staff_page.store import Row

EXPORT_HEADERS = (*HEADERS, "Status", "Status changed (UTC)", "Note")


def csv_bytes(rows: Iterable[Row]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_HEADERS)
    for row in rows:
        changed = row.status.changed_at.strftime("%Y-%m-%d %H:%M") if row.status.changed_at else ""
        values = [*cells(row.record), row.status.status, changed, row.status.note or ""]
        writer.writerow([neutralise_formula(value) for value in values])
    return buffer.getvalue().encode("utf-8-sig")
