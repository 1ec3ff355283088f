"""The funders' figures, built from events alone, on the stack as `make run` starts it:
the seed report's Table 1 reproduced exactly through intake's real API, and random
referrals and case histories whose expected figures are counted here in plain Python."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date
from itertools import count

import openpyxl
import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from tests.background import wait_for
from tests.e2e.reporting_client import Reporting

pytestmark = pytest.mark.e2e

MONTHS = [
    "2008-10",
    "2008-11",
    "2008-12",
    "2009-01",
    "2009-02",
    "2009-03",
    "2009-04",
    "2009-05",
    "2009-06",
    "2009-07",
    "2009-08",
    "2009-09",
]
# Table 1 of ../shared/seeds/000_88bbdadf38383fa7.txt: referrals per month per team.
TABLE_1 = {
    "GLASGOW": [2, 5, 3, 1, 1, 3, 3, 1, 8, 3, 2, 2],
    "LANARKSHIRE": [1, 1, 3, 3, 3, 9, 2, 0, 3, 3, 1, 2],
    "NORTH_STRATHCLYDE": [0, 0, 1, 2, 2, 2, 1, 1, 2, 1, 0, 2],
    "SOUTH_WEST_SCOTLAND": [0, 1, 1, 1, 1, 0, 1, 0, 3, 2, 1, 1],
    "OTHER": [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
}
TEAM_TOTALS = {
    "GLASGOW": 34,
    "LANARKSHIRE": 31,
    "NORTH_STRATHCLYDE": 14,
    "SOUTH_WEST_SCOTLAND": 12,
    "OTHER": 1,
}
MONTH_TOTALS = [4, 7, 8, 7, 7, 14, 7, 2, 16, 9, 4, 7]
SEED_YEAR = {"from": "2008-10", "to": "2009-09"}


@pytest.fixture(scope="module")
def reporting(stack) -> Reporting:
    return Reporting(stack)


@pytest.fixture(scope="module")
def seed_year(reporting) -> Reporting:
    """The 92 referrals of the seed's first year, posted through intake's API."""
    n = count(1)
    for team, per_month in TABLE_1.items():
        for month, referrals in zip(MONTHS, per_month, strict=True):
            for day in range(referrals):
                referred_on = date.fromisoformat(f"{month}-{1 + day * 3 % 28:02d}")
                reporting.refer(next(n), team, referred_on)
    counted = lambda: reporting.report("referrals-by-month", **SEED_YEAR)["total"] == 92  # noqa: E731
    assert wait_for(counted, timeout=120), f"not all counted; see {reporting.stack.log_path}"
    return reporting


def test_the_seed_report_table_1_is_reproduced_exactly(seed_year):
    table = seed_year.report("referrals-by-month", **SEED_YEAR)
    assert table["months"] == MONTHS
    rows = {row["team"]: row for row in table["teams"]}
    assert {team: rows[team]["counts"] for team in TABLE_1} == TABLE_1
    assert {team: rows[team]["total"] for team in TABLE_1} == TEAM_TOTALS
    assert table["month_totals"] == MONTH_TOTALS
    assert table["total"] == 92


def test_table_1_through_the_csv_and_xlsx_downloads(seed_year):
    session = seed_year.signed_in()
    base = seed_year.stack.url("reporting")
    answer = session.get(f"{base}/exports/referrals-by-month.csv", params=SEED_YEAR, timeout=30)
    assert answer.status_code == 200
    assert "familyties-2008-10-to-2009-09" in answer.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    body = {row[0]: [int(cell) for cell in row[1:]] for row in rows[1:]}
    assert body["Glasgow"] == [*TABLE_1["GLASGOW"], 34]
    assert body["Other"] == [*TABLE_1["OTHER"], 1]
    assert body["Total"] == [*MONTH_TOTALS, 92]

    workbook = session.get(f"{base}/exports/report.xlsx", params=SEED_YEAR, timeout=30)
    assert workbook.status_code == 200
    assert workbook.content[:2] == b"PK", workbook.content[:300]
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content))["referrals-by-month"]
    cells = {row[0].value: row[1:] for row in sheet.iter_rows(min_row=2)}
    assert [c.value for c in cells["Lanarkshire"]] == [*TABLE_1["LANARKSHIRE"], 31]
    assert all(c.data_type == "n" for c in cells["Total"])
    assert cells["Total"][-1].value == 92


def test_the_pdf_funders_report_holds_the_figures(seed_year):
    session = seed_year.signed_in()
    answer = session.get(
        f"{seed_year.stack.url('reporting')}/exports/report.pdf", params=SEED_YEAR, timeout=60
    )
    assert answer.status_code == 200
    assert answer.content.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    assert "October 2008 to September 2009" in text
    assert "92" in text and "34" in text and "31" in text


def test_a_range_asked_for_wrongly_is_refused_naming_the_field(reporting):
    wrong = requests.get(
        f"{reporting.stack.url('reporting')}/v1/reports/referrals-by-month",
        params={"from": "2009-13", "to": "2009-09"},
        headers=reporting.viewer,
        timeout=10,
    )
    assert wrong.status_code == 422
    assert "from" in wrong.text


# ---- random referrals and case histories with known answers -----------------------------

NEEDS = ["housing", "education", "health", "bereavement"]
TEAMS = list(TABLE_1)
years = count(2012)  # each example's referrals fall in a year of their own

a_referral = st.fixed_dictionaries(
    {
        "team": st.sampled_from(TEAMS),
        "month": st.integers(1, 12),
        "children": st.integers(0, 3),
        "needs": st.lists(st.sampled_from(NEEDS), min_size=1, max_size=3, unique=True),
        "worked": st.sampled_from(["untouched", "allocated", "contacted", "declined", "closed"]),
        "answered": st.integers(0, 3),  # how many of its needs the contact addresses
    }
)


def expected(referrals: list[dict], months: list[str]) -> dict:
    """The figures, counted in plain Python from what was posted and done."""
    by_team = {team: [0] * len(months) for team in TEAMS}
    identified, answered, status = Counter(), Counter(), Counter()
    for spec in referrals:
        by_team[spec["team"]][spec["month"] - 1] += 1
        identified.update(spec["needs"])
        if spec["worked"] in ("contacted", "closed"):
            answered.update(spec["needs"][: spec["answered"]])
        status[spec["worked"]] += 1
    return {
        "by_team": by_team,
        "identified": identified,
        "answered": answered,
        "with_children": sum(1 for spec in referrals if spec["children"]),
        "declined": status["declined"],
        "closed": status["closed"],
        "allocated_now": status["allocated"] + status["contacted"],
    }


@settings(
    max_examples=3,
    deadline=None,
    phases=[Phase.generate],  # no shrinking: every example posts for real, into its own year
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(referrals=st.lists(a_referral, min_size=1, max_size=8))
def test_random_referrals_and_case_histories_give_the_figures_counted_by_hand(reporting, referrals):
    year = next(years)
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    for n, spec in enumerate(referrals):
        rid = reporting.refer(
            year * 100 + n,
            spec["team"],
            date(year, spec["month"], 10),
            needs=spec["needs"],
            children__number=spec["children"],
            children__ages=[],
        )
        work(reporting, rid, spec)
    want = expected(referrals, months)
    period = {"from": months[0], "to": months[-1]}
    assert wait_for(lambda: observed(reporting, period) == want, timeout=90)
    assert observed(reporting, period) == want


def observed(reporting: Reporting, period: dict[str, str]) -> dict:
    """The figures `expected` counts, as the reports give them."""
    table = reporting.report("referrals-by-month", **period)
    needs = reporting.report("needs", **period)["needs"]
    headline = reporting.report("headline", **period)
    return {
        "by_team": {row["team"]: row["counts"] for row in table["teams"]},
        "identified": Counter({row["need"]: row["identified"] for row in needs}),
        "answered": Counter({row["need"]: row["answered"] for row in needs}),
        "with_children": headline["referrals_with_children"],
        "declined": headline["declined"],
        "closed": headline["closed"],
        "allocated_now": headline["allocated_now"],
    }


def work(reporting: Reporting, referral_id: str, spec: dict) -> None:
    """Do to the referral's case what `spec` says, through casework's API."""
    if spec["worked"] == "untouched":
        return
    case_id = reporting.case_of(referral_id)
    if spec["worked"] == "declined":
        reporting.work(case_id, "decline", {"reason_for_referrer": "Synthetic reason."}, "manager")
        return
    reporting.allocate(case_id)
    if spec["worked"] in ("contacted", "closed"):
        reporting.contact(case_id, spec["needs"][: spec["answered"]])
    if spec["worked"] == "closed":
        reporting.work(
            case_id, "close", {"outcomes": ["needs_met"], "outcome_for_referrer": "Synthetic."}
        )
