"""The funders' report laid out as tables (tables.py), from the figures: what the report
pages show and the CSV, XLSX and PDF exports hold. Pure."""

from __future__ import annotations

from typing import Any

from backbone.events import vocabulary as v
from backbone.events.case import CLOSING_OUTCOMES, SIGNPOST_OUTCOMES
from services.reporting.figures import month_label, period_label
from services.reporting.tables import Cell, Chart, Report, Table

FEWER_THAN_5 = "fewer than 5"


def hidden_if_small(value: Cell) -> Cell:
    """A count from 1 to 4 as words, so a family cannot be picked out of a published table."""
    return FEWER_THAN_5 if isinstance(value, int) and 1 <= value <= 4 else value


def filter_words(team: str | None, local_authority: str | None) -> str:
    words = []
    if team:
        words.append(f"{v.REFERRING_TEAMS[team]} team")
    if local_authority:
        words.append(v.LOCAL_AUTHORITIES[local_authority])
    return ", ".join(words)


def funders_report(
    first: str,
    last: str,
    by_month: dict[str, Any],
    needs: dict[str, Any],
    headline: dict[str, Any],
    withdrawals_by_month: dict[str, Any],
    *,
    hide_small_numbers: bool = False,
    filters: str = "",
) -> Report:
    tables = [
        referrals_table(by_month),
        needs_table(needs),
        headline_table(headline),
        signposts_table(headline["signposts"]),
        closing_outcomes_table(headline),
        withdrawals_table(withdrawals_by_month),
        withdrawal_reasons_table(headline),
    ]
    if hide_small_numbers:
        tables = [_hide_small(table) for table in tables]
    period = period_label(first, last)
    return Report(
        title="Family support: referrals, needs and outcomes",
        period=f"{period} ({filters})" if filters else period,
        file_stem=f"familyties-{first}-to-{last}",
        tables=tables,
    )


def referrals_table(by_month: dict[str, Any]) -> Table:
    return _month_table(
        "referrals-by-month",
        "Referrals by month and referring team",
        by_month,
        "Months are those of the referral date.",
    )


def withdrawals_table(by_month: dict[str, Any]) -> Table:
    return _month_table(
        "withdrawals-by-month",
        "Referrals withdrawn by month and referring team",
        by_month,
        "Months are those of the referral date, not of the withdrawal.",
    )


def _month_table(key: str, title: str, by_month: dict[str, Any], note: str) -> Table:
    months = [month_label(month) for month in by_month["months"]]
    rows: list[list[Cell]] = [
        [team["label"], *team["counts"], team["total"]] for team in by_month["teams"]
    ]
    rows.append(["Total", *by_month["month_totals"], by_month["total"]])
    return Table(
        key=key,
        title=title,
        header=["Referring team", *months, "Total"],
        rows=rows,
        chart=Chart(title, months, {team["label"]: team["counts"] for team in by_month["teams"]}),
        notes=[note],
    )


def needs_table(needs: dict[str, Any]) -> Table:
    shown = [row for row in needs["needs"] if row["identified"] or row["answered"]]
    return Table(
        key="needs",
        title="Needs identified and answered",
        header=["Need", "Referrals identifying it", "Referrals where it was answered"],
        rows=[[row["label"], row["identified"], row["answered"]] for row in shown],
        chart=Chart(
            "Needs identified and answered",
            [row["label"] for row in shown],
            {
                "Identified": [row["identified"] for row in shown],
                "Answered": [row["answered"] for row in shown],
            },
            horizontal=True,
        ),
        notes=[
            "A need is answered when a contact addressed it, it was marked addressed, or "
            "the family was signposted to a service for it."
        ],
    )


def headline_table(headline: dict[str, Any]) -> Table:
    first_contact = headline["first_contact_working_days"]
    support = headline["support"]
    statutory = next(
        (
            row["total"]
            for row in headline["signposts"]["by_agency_type"]
            if row["agency_type"] == "statutory"
        ),
        0,
    )
    rows: list[list[Cell]] = [
        ["Referrals", headline["referrals"]],
        ["Referrals with children", headline["referrals_with_children"]],
        ["Children in those families", headline["children"]],
        ["Referrals given one-to-one support", headline["referrals_given_one_to_one_support"]],
        ["Cases open now", headline["open_now"]],
        ["Cases allocated now", headline["allocated_now"]],
        ["Waiting for a first contact", headline["waiting_for_first_contact"]],
        ["Waiting more than 5 working days", headline["waiting_more_than_5_working_days"]],
        ["Referrals contacted", first_contact["contacted"]],
        ["Median working days to first contact", _or_none(first_contact["median"])],
        ["90th percentile working days to first contact", _or_none(first_contact["percentile_90"])],
        ["Longest support period (days)", _or_none(support["longest_period_days"])],
        ["Support periods still ongoing", support["ongoing"]],
        ["Signposts made", headline["signposts"]["total"]],
        ["Signposts to statutory services", statutory],
        ["Cases closed", headline["closed"]],
        ["Referrals declined", headline["declined"]],
        ["Referrals withdrawn", headline["withdrawn"]],
    ]
    return Table(key="headline", title="Headline figures", header=["Figure", "Value"], rows=rows)


def signposts_table(signposts: dict[str, Any]) -> Table:
    outcomes = list(SIGNPOST_OUTCOMES)
    rows: list[list[Cell]] = [
        [row["label"], *(row[o] for o in outcomes), row["total"]]
        for row in signposts["by_agency_type"]
    ]
    return Table(
        key="signposts",
        title="Signposts by agency type and outcome",
        header=["Agency type", *SIGNPOST_OUTCOMES.values(), "Total"],
        rows=rows,
    )


def closing_outcomes_table(headline: dict[str, Any]) -> Table:
    return Table(
        key="closing-outcomes",
        title="How cases closed",
        header=["Outcome", "Cases"],
        rows=[
            [label, headline["closing_outcomes"][code]] for code, label in CLOSING_OUTCOMES.items()
        ],
        notes=["A case may close with more than one outcome."],
    )


def withdrawal_reasons_table(headline: dict[str, Any]) -> Table:
    return Table(
        key="withdrawal-reasons",
        title="Why referrals were withdrawn",
        header=["Reason", "Referrals"],
        rows=[
            [label, headline["withdrawal_reasons"][code]]
            for code, label in v.WITHDRAWAL_REASONS.items()
        ],
        notes=["As the referrer chose when withdrawing the referral."],
    )


def _or_none(value: int | None) -> Cell:
    return "none yet" if value is None else value


def _hide_small(table: Table) -> Table:
    """The table with small counts hidden, and without its chart, whose bars would show them."""
    rows = [[row[0], *(hidden_if_small(cell) for cell in row[1:])] for row in table.rows]
    notes = [*table.notes, f"Counts from 1 to 4 are shown as '{FEWER_THAN_5}'."]
    return Table(table.key, table.title, table.header, rows, None, notes)
