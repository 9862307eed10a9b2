"""Writing a report table or a drill-down list to a CSV or XLSX file.

The writers take the columns and an iterable of rows (one value per column, in order) and
stream them to disk, so a list of any size is never held in memory. Both formats neutralise
text that a spreadsheet would run as a formula, with the gradebook's rule
(:func:`lms.assessments.gradebook.safe_cell`).

CSV: UTF-8 with a byte-order mark (so that Excel reads Chinese correctly), dates as
``YYYY-MM-DD``. XLSX: numbers as numbers, dates as dates with a date format, a bold header row,
a sheet title and column widths.
"""

from __future__ import annotations

import csv
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import to_user_timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from lms.assessments.gradebook import safe_cell
from lms.reports.tables import Column

FORMATS = ("csv", "xlsx")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
# Excel's limits on a sheet title: 31 characters, none of these.
SHEET_TITLE_MAX = 31
UNSAFE_IN_SHEET_TITLE = re.compile(r"[\[\]:*?/\\]")
# Characters kept out of a downloaded file's name.
UNSAFE_IN_FILE_NAME = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
NUMBER_WIDTH, TEXT_WIDTH, MAX_WIDTH = 12, 16, 60

Rows = Iterable[Sequence[Any]]


def export_path(job_id: str, fmt: str) -> Path:
    """Where the file of export job ``job_id`` is kept: ``FILES_DIR/exports/reports/``."""
    return Path(current_app.config["FILES_DIR"]) / "exports" / "reports" / f"{job_id}.{fmt}"


def file_names(title: str, as_of: date, fmt: str, fallback: str) -> tuple[str, str]:
    """The (ASCII, UTF-8) names of a download: the translated title and the day, and an
    ASCII-only fallback built from ``fallback`` (the source and name of the report)."""
    readable = " ".join(UNSAFE_IN_FILE_NAME.sub(" ", f"{title} {as_of.isoformat()}").split())
    ascii_name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{fallback}-{as_of.isoformat()}")
    return f"{ascii_name}.{fmt}", f"{readable}.{fmt}"


# --- CSV ------------------------------------------------------------------------------------


def csv_value(value: Any) -> str:
    """A value as CSV text: dates in ISO form, times in the city's time zone, text that could
    start a formula neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, datetime):
        return _local(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, int | float):
        return str(value)
    return safe_cell(value)


def write_csv(path: Path, title: str, columns: Sequence[Column], rows: Rows) -> int:
    """Write a header row and ``rows``; returns the number of rows written (header excluded).
    ``title`` is not written: a CSV file has no place for it."""
    count = 0
    with _replacing(path) as part, part.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([safe_cell(column.label) for column in columns])
        for row in rows:
            writer.writerow([csv_value(value) for value in row])
            count += 1
    return count


# --- XLSX -----------------------------------------------------------------------------------


def xlsx_cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """A value for the sheet: numbers and dates as such (with a date format), text cleaned of
    characters XLSX cannot hold and never a formula."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, _local(value).replace(tzinfo=None))
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = DATE_FORMAT
        return cell
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    # openpyxl stores text starting with "=" as a formula; the apostrophe makes it text.
    return safe_cell(text) if text.startswith("=") else text


def write_xlsx(path: Path, title: str, columns: Sequence[Column], rows: Rows) -> int:
    """Write one sheet named after ``title``: a bold header row, then ``rows``; returns the
    number of rows written (header excluded)."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_title(title))
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column_width(column)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, xlsx_cell(sheet, column.label))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in rows:
        sheet.append([xlsx_cell(sheet, value) for value in row])
        count += 1
    with _replacing(path) as part:
        book.save(part)
    return count


def sheet_title(title: str) -> str:
    """A title Excel accepts for a sheet."""
    cleaned = " ".join(UNSAFE_IN_SHEET_TITLE.sub(" ", title).split())
    return cleaned[:SHEET_TITLE_MAX] or "Sheet"


def column_width(column: Column) -> int:
    """Wide enough for the header (Chinese characters count twice) and typical values."""
    header = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in column.label)
    least = NUMBER_WIDTH if column.numeric else TEXT_WIDTH
    return min(max(header + 2, least), MAX_WIDTH)


WRITERS: dict[str, Callable[[Path, str, Sequence[Column], Rows], int]] = {
    "csv": write_csv,
    "xlsx": write_xlsx,
}


# --- Helpers --------------------------------------------------------------------------------


def _local(moment: datetime) -> datetime:
    """A stored (UTC) time in the city's time zone."""
    return to_user_timezone(moment)


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """``with _replacing(path) as part:`` write ``part``; on success it replaces ``path`` at
    once, so a reader (or a job run twice) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    try:
        yield part
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, path)
