"""A report's downloads: each table as CSV, the whole report as a workbook or a PDF for
funders. Pure functions of a Report: the web layer only names and sends the bytes."""

from __future__ import annotations

import csv
import io
import re
from typing import NoReturn

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from services.reporting import charts
from services.reporting.tables import Cell, Report, Table

# Send CSV as UTF-8 with a byte-order mark: Excel reads a CSV without one in the
# machine's legacy code page and garbles anything past ASCII (é, £, curly quotes).
# csv_of returns text; the route encodes it with this.
CSV_ENCODING = "utf-8-sig"

# Spreadsheets run a cell that starts with one of these as a formula, so a label typed
# by a partner ("=HYPERLINK(...)") could act when a manager opens the download.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_SHEET_NAME_MAX = 31  # Excel's limit
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_COLUMN_WIDTH_MIN, _COLUMN_WIDTH_MAX = 8, 60  # characters


def csv_of(table: Table) -> str:
    """The header row, then the rows, as RFC 4180 CSV (CRLF line ends, as Excel writes)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_csv_cell(cell) for cell in table.header])
    writer.writerows([_csv_cell(cell) for cell in row] for row in table.rows)
    return out.getvalue()


def _csv_cell(cell: Cell) -> Cell:
    # OWASP's defence against CSV injection: a leading apostrophe shows the text as text.
    if isinstance(cell, str) and cell.startswith(_FORMULA_STARTS):
        return "'" + cell
    return cell


def xlsx_of(report: Report) -> bytes:
    """An "About" sheet (title, period, what each sheet holds and its notes), then one
    sheet per table: a bold, frozen header row; counts as numbers, words as text."""
    workbook = Workbook()
    workbook.properties.title = f"{report.title}: {report.period}"
    workbook.properties.creator = "Family Ties"
    about = workbook.active
    about.title = "About"
    about.append(["Report", report.title])
    about.append(["Period", report.period])
    about.append([])
    about.append(["Sheet", "Contents", "Notes"])
    for row in (1, 2):
        about.cell(row, 1).font = _BOLD
    _bold_row(about, 4)
    for name, table in zip(_sheet_names(report.tables), report.tables, strict=True):
        about.append([name, table.title, " ".join(table.notes)])
        sheet = workbook.create_sheet(name)
        sheet.append(table.header)
        for table_row in table.rows:
            sheet.append(table_row)
        _bold_row(sheet, 1)
        sheet.freeze_panes = "A2"  # the header stays in view while the months scroll by
    for sheet in workbook.worksheets:
        _strings_as_text(sheet)
        _fit_columns(sheet)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


_BOLD = Font(bold=True)


def _bold_row(sheet: Worksheet, row: int) -> None:
    for cell in sheet[row]:
        cell.font = _BOLD


def _strings_as_text(sheet: Worksheet) -> None:
    # openpyxl stores a string that starts "=" as a formula; ours are labels.
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"


def _fit_columns(sheet: Worksheet) -> None:
    for column in sheet.iter_cols():
        widest = max((len(str(cell.value)) for cell in column if cell.value is not None), default=0)
        width = min(max(widest + 2, _COLUMN_WIDTH_MIN), _COLUMN_WIDTH_MAX)
        sheet.column_dimensions[get_column_letter(column[0].column)].width = width


def _sheet_names(tables: list[Table]) -> list[str]:
    """Each table's key as a sheet name Excel accepts: at most 31 characters, none of
    []:*?/\\, and unique ignoring case (as Excel compares them), "About" included."""
    names, taken = [], {"about"}
    for table in tables:
        base = _SHEET_NAME_FORBIDDEN.sub("-", table.key or table.title).strip("'") or "Table"
        name, n = base[:_SHEET_NAME_MAX], 1
        while name.lower() in taken:
            n += 1
            suffix = f"-{n}"
            name = base[: _SHEET_NAME_MAX - len(suffix)] + suffix
        taken.add(name.lower())
        names.append(name)
    return names


_templates = Environment(
    loader=PackageLoader("services.reporting", "templates"),
    autoescape=select_autoescape(default=True),
)


class _Offline(URLFetcher):
    """Fetches nothing: the PDF is made from the page and its inline SVG alone, so a
    URL in a label can neither slow the render nor reach the network."""

    def fetch(self, url: str, headers: dict | None = None) -> NoReturn:
        raise ValueError(f"the funder PDF fetches nothing: {url[:40]}")


def pdf_of(report: Report) -> bytes:
    """The funder report: a title page, then each table with its notes and chart, on A4."""
    html = _templates.get_template("report_pdf.html").render(
        report=report,
        tables=[
            (table, Markup(charts.svg(table.chart)) if table.chart else None)
            for table in report.tables
        ],
    )
    # pdf_tags: a tagged PDF, so a screen reader finds the headings and table cells.
    return HTML(string=html, base_url=None, url_fetcher=_Offline()).write_pdf(pdf_tags=True)


def file_name(report: Report, table: Table | None, extension: str) -> str:
    """The download's name: the report's stem, the table's key when it is one table.

    "familyties-2008-10-to-2009-09-referrals-by-month.csv", "familyties-2008-10-to-2009-09.pdf"
    """
    stem = report.file_stem if table is None else f"{report.file_stem}-{_slug(table.key)}"
    return f"{stem}.{extension.lstrip('.')}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
