"""The reporting service's charts and downloads, from a synthetic report: each export
shows the table's figures as they are, and nothing runs or is fetched on opening it."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest
from openpyxl import Workbook, load_workbook
from pypdf import PdfReader

from services.reporting import charts, exports
from services.reporting.tables import Chart, Report, Table

MONTHS = ["Oct 2008", "Nov 2008", "Dec 2008", "Jan 2009", "Feb 2009", "Mar 2009"]
MONTHS += ["Apr 2009", "May 2009", "Jun 2009", "Jul 2009", "Aug 2009", "Sep 2009"]
TEAMS = ["Prison Life Coaches", "Community Life Coaches", "Family contact officers"]
TEAMS += ["Social work", "Other agencies"]
NEEDS = ["Emotional support", "Prison contact (visits, letters, phone)", "Housing"]
NEEDS += ["Children's Hearings and reviews", "Benefits & money"]
SVG = "{http://www.w3.org/2000/svg}"


def months_by_team() -> Table:
    counts = {team: [(3 * m + 7 * t) % 11 for m in range(12)] for t, team in enumerate(TEAMS)}
    rows: list[list[str | int]] = []
    for m, month in enumerate(MONTHS):
        by_team = [counts[team][m] for team in TEAMS]
        rows.append([month, *by_team, sum(by_team)])
    totals = [sum(counts[team]) for team in TEAMS]
    rows.append(["Total", *totals, sum(totals)])
    return Table(
        key="referrals-by-month",
        title="Referrals per month by referring team",
        header=["Month", *TEAMS, "Total"],
        rows=rows,
        chart=Chart("Referrals, stacked by team", MONTHS, counts),
        notes=["Counted in the month the referral was received."],
    )


def needs() -> Table:
    identified, answered = [41, 37, 23, 12, 30], [39, 35, 17, 12, 26]
    return Table(
        key="needs",
        title="Identified needs & information provided",
        header=["Need", "Identified", "Answered"],
        rows=[[n, i, a] for n, i, a in zip(NEEDS, identified, answered, strict=True)],
        chart=Chart(
            "Identified needs & information provided",
            NEEDS,
            {"Identified": identified, "Answered": answered},
            horizontal=True,
        ),
    )


def headline() -> Table:
    return Table(
        key="headline",
        title="The year at a glance",
        header=["Measure", "Count"],
        rows=[["Referrals received", 1234], ["Cases opened", 207], ["Complaints", "fewer than 5"]],
        notes=["Counts from 1 to 4 are shown as “fewer than 5” to protect families."],
    )


def report() -> Report:
    return Report(
        title="Family Support Coordinator: report to funders",
        period="October 2008 to September 2009",
        file_stem="familyties-2008-10-to-2009-09",
        tables=[months_by_team(), needs(), headline()],
    )


# -- charts -----------------------------------------------------------------------------


@pytest.mark.parametrize("table", [months_by_team(), needs()], ids=["vertical", "horizontal"])
def test_a_chart_is_an_svg_element_with_a_title_and_no_script(table: Table) -> None:
    assert table.chart is not None
    drawn = charts.svg(table.chart)

    assert drawn.startswith("<svg")  # no XML declaration: it goes inside a page
    root = ET.fromstring(drawn)
    assert root.tag == f"{SVG}svg"
    assert not [e for e in root.iter() if e.tag == f"{SVG}script"]
    assert "javascript" not in drawn.lower()
    first = root[0]
    assert first.tag == f"{SVG}title" and first.text == table.chart.title
    assert root.get("role") == "img" and root.get("aria-labelledby") == first.get("id")


LONG_NAMES = Chart(
    "Referrals by area",
    ["North Lanarkshire and East Dunbartonshire", "Glasgow City", "Renfrewshire"],
    {"Prison-based Life Coaches at HMP Barlinnie and HMP Low Moss": [4, 9, 2], "Other": [1, 2, 3]},
)


@pytest.mark.parametrize(
    "chart",
    [months_by_team().chart, needs().chart, LONG_NAMES],
    ids=["vertical", "horizontal", "long-names"],
)
def test_a_chart_names_each_label_and_series_in_full(chart: Chart) -> None:
    texts = {e.text for e in ET.fromstring(charts.svg(chart)).iter(f"{SVG}text")}

    assert set(chart.labels) <= texts  # pygal's default cuts them to fit: "North Lanark…"
    assert set(chart.series) <= texts


@pytest.mark.parametrize("horizontal", [False, True])
def test_a_chart_of_small_counts_has_whole_number_steps(horizontal: bool) -> None:
    chart = Chart("Few", ["Q1", "Q2", "Q3"], {"A": [1, 3, 2], "B": [0, 1, 0]}, horizontal)

    root = ET.fromstring(charts.svg(chart))
    axes = [g for g in root.iter(f"{SVG}g") if g.get("class", "").startswith("axis ")]
    texts = [e.text or "" for g in axes for e in g.iter(f"{SVG}text")]
    steps = [text for text in texts if text not in chart.labels]

    assert steps and all(step.isdigit() for step in steps), steps
    assert len(set(steps)) == len(steps), steps  # not 0.5 printed as "0"


def test_a_horizontal_chart_lists_its_labels_top_down_in_the_tables_order() -> None:
    root = ET.fromstring(charts.svg(needs().chart))  # type: ignore[arg-type]

    labels = [e for e in root.iter(f"{SVG}text") if e.text in NEEDS]
    by_height = sorted(labels, key=lambda e: float(e.get("y", 0)))
    assert [e.text for e in by_height] == NEEDS


def test_a_label_with_markup_stays_text_in_the_chart() -> None:
    chart = Chart("<b>Needs</b>", ["<script>alert(1)</script>"], {"<i>Identified</i>": [3]}, True)

    root = ET.fromstring(charts.svg(chart))  # it is put into pages unescaped

    assert not [e for e in root.iter() if e.tag in (f"{SVG}script", f"{SVG}b", f"{SVG}i")]
    texts = {e.text for e in root.iter() if e.text}
    assert {"<b>Needs</b>", "<script>alert(1)</script>", "<i>Identified</i>"} <= texts


def test_a_chart_carries_the_pages_csp_nonce_on_its_style_when_given_one() -> None:
    chart = needs().chart
    assert chart is not None

    def styles(drawn: str) -> list[ET.Element]:
        return list(ET.fromstring(drawn).iter(f"{SVG}style"))

    assert [style.get("nonce") for style in styles(charts.svg(chart, nonce="r4nd0m"))] == ["r4nd0m"]
    assert [style.get("nonce") for style in styles(charts.svg(chart))] == [None]


def test_two_charts_on_one_page_do_not_share_ids() -> None:
    chart = needs().chart
    assert chart is not None

    first, second = ({e.get("id") for e in ET.fromstring(charts.svg(chart)).iter()} for _ in "12")

    assert first & second <= {None}  # each chart's CSS is scoped by its own id


# -- CSV --------------------------------------------------------------------------------


@pytest.mark.parametrize("table", [months_by_team(), needs(), headline()])
def test_csv_reads_back_as_the_header_then_the_rows(table: Table) -> None:
    read = list(csv.reader(io.StringIO(exports.csv_of(table))))

    assert read[0] == table.header
    assert read[1:] == [[str(cell) for cell in row] for row in table.rows]


def test_csv_keeps_commas_quotes_and_non_ascii_inside_a_cell() -> None:
    table = Table(
        "t", "T", ["Team", "Count"], [['Glasgow, "East"', 3], ["Children\u2019s Hearings", 4]]
    )

    read = list(csv.reader(io.StringIO(exports.csv_of(table))))

    assert read[1:] == [['Glasgow, "East"', "3"], ["Children\u2019s Hearings", "4"]]
    assert exports.csv_of(table).encode(exports.CSV_ENCODING).startswith(b"\xef\xbb\xbf")


def test_csv_defuses_a_label_a_spreadsheet_would_run_as_a_formula() -> None:
    table = Table("t", "T", ["Team", "Count"], [['=HYPERLINK("http://x")', 3], ["-1+2", 1]])

    read = list(csv.reader(io.StringIO(exports.csv_of(table))))

    assert [row[0] for row in read[1:]] == ['\'=HYPERLINK("http://x")', "'-1+2"]


# -- XLSX -------------------------------------------------------------------------------


def workbook(of: Report) -> Workbook:
    return load_workbook(io.BytesIO(exports.xlsx_of(of)))


def test_xlsx_has_an_about_sheet_then_one_sheet_per_table() -> None:
    book = workbook(report())

    assert book.sheetnames == ["About", "referrals-by-month", "needs", "headline"]
    about = [[c for c in row if c is not None] for row in book["About"].iter_rows(values_only=True)]
    assert ["Report", report().title] in about
    assert ["Period", "October 2008 to September 2009"] in about
    assert ["needs", "Identified needs & information provided"] in about


def test_xlsx_sheet_holds_the_table_with_counts_as_numbers_and_words_as_text() -> None:
    book = workbook(report())

    for table in report().tables:
        sheet = book[table.key]
        assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
            table.header,
            *table.rows,
        ]
    headline_sheet = book["headline"]
    assert headline_sheet["B2"].value == 1234 and headline_sheet["B2"].data_type == "n"
    assert headline_sheet["B4"].value == "fewer than 5" and headline_sheet["B4"].data_type == "s"
    counts = book["referrals-by-month"].iter_rows(min_row=2, min_col=2)
    assert {cell.data_type for row in counts for cell in row} == {"n"}


def test_xlsx_header_is_bold_and_frozen_and_columns_fit_their_content() -> None:
    sheet = workbook(report())["referrals-by-month"]

    assert all(cell.font.bold for cell in sheet[1])
    assert not sheet["A2"].font.bold
    assert sheet.freeze_panes == "A2"
    widths = {col: sheet.column_dimensions[col].width for col in "ABCDEFG"}
    assert widths["A"] >= len("Nov 2008")
    assert widths["D"] >= len("Family contact officers")
    assert widths["A"] < widths["D"]


def test_xlsx_sheet_names_are_short_unique_and_allowed() -> None:
    long_key = "referrals-by-month-and-referring-team-and-area"
    tables = [
        Table(long_key, "A", ["x"], []),
        Table(long_key, "B", ["x"], []),
        Table("about", "C", ["x"], []),
        Table("needs/answered?", "D", ["x"], []),
    ]

    names = workbook(Report("R", "P", "r", tables)).sheetnames[1:]

    assert all(len(name) <= 31 for name in names)
    assert len({name.lower() for name in names} | {"about"}) == 5
    assert names[0] == long_key[:31] and names[3] == "needs-answered-"


def test_xlsx_keeps_a_formula_like_label_as_text() -> None:
    table = Table("t", "T", ["Team", "Count"], [["=1+1", 3]])

    cell = workbook(Report("R", "P", "r", [table]))["t"]["A2"]

    assert cell.value == "=1+1" and cell.data_type == "s"


# -- PDF --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return exports.pdf_of(report())


def text(page) -> str:
    return " ".join(page.extract_text().split())  # lines wrap where the layout says


def test_pdf_opens_on_a_title_page_with_the_title_and_period(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    first = text(reader.pages[0])

    assert "Family Support Coordinator: report to funders" in first
    assert "October 2008 to September 2009" in first
    assert reader.metadata is not None and "October 2008" in (reader.metadata.title or "")
    # A4 is 595 x 842 points
    assert round(reader.pages[0].mediabox.width) == 595
    assert round(reader.pages[0].mediabox.height) == 842


def test_pdf_is_tagged_for_screen_readers_with_a_bookmark_per_table(pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf))
    catalog = reader.trailer["/Root"]

    assert "/StructTreeRoot" in catalog and catalog["/MarkInfo"]["/Marked"]
    assert catalog["/Lang"] == "en-GB"
    top, under = reader.outline  # the title, then its headings
    assert top.title == report().title  # type: ignore[union-attr]
    assert [item.title for item in under][1:] == [  # type: ignore[union-attr]
        f"{n}. {table.title}" for n, table in enumerate(report().tables, 1)
    ]


def test_pdf_gives_each_table_a_page_with_its_figures_notes_and_chart(pdf: bytes) -> None:
    pages = [text(page) for page in PdfReader(io.BytesIO(pdf)).pages]

    assert len(pages) == 1 + len(report().tables)
    months, need, glance = pages[1:]
    assert "Referrals per month by referring team" in months
    total_row = months_by_team().rows[-1]
    assert f"Total {' '.join(f'{n:,}' for n in total_row[1:])}" in months
    assert "Counted in the month the referral was received." in months
    assert "Prison contact (visits, letters, phone) 37 35" in need
    assert "1,234" in glance and "fewer than 5" in glance
    # the charts, drawn from their SVG: their titles and value axes
    assert "Referrals, stacked by team" in months and "0 10 20 30 40" in months
    assert need.count("Identified needs & information provided") == 2  # heading, chart
    assert "0 10 20 30 40 50" in need


def test_pdf_shows_markup_in_a_label_as_text_and_fetches_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fetched: list[str] = []

    def record(self, url: str, headers: dict | None = None):
        fetched.append(url)
        raise ValueError("offline")

    monkeypatch.setattr(exports._Offline, "fetch", record)
    table = Table("t", "T", ["Team", "Count"], [['<img src="http://example.invalid/x.png">', 3]])

    pdf = exports.pdf_of(Report("R", "P", "r", [table]))

    assert fetched == []
    assert (
        '<img src="http://example.invalid/x.png">'
        in PdfReader(io.BytesIO(pdf)).pages[1].extract_text()
    )


# -- file names -------------------------------------------------------------------------


def test_download_names_carry_the_period_and_the_table() -> None:
    r = report()

    assert exports.file_name(r, r.tables[0], "csv") == (
        "familyties-2008-10-to-2009-09-referrals-by-month.csv"
    )
    assert exports.file_name(r, None, "xlsx") == "familyties-2008-10-to-2009-09.xlsx"
    assert exports.file_name(r, None, ".pdf") == "familyties-2008-10-to-2009-09.pdf"
    odd = Table("Needs / answered?", "T", ["x"], [])
    assert exports.file_name(r, odd, "csv") == "familyties-2008-10-to-2009-09-needs-answered.csv"
