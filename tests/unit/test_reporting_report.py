"""The report laid out for people: small numbers hidden for publication when asked, and a
rebuild's completeness judged against what each service says it published."""

from __future__ import annotations

from datetime import UTC, date, datetime

from backbone.log_counts import LogCount
from services.reporting import figures
from services.reporting.rebuild import Replay, shortfalls
from services.reporting.report import FEWER_THAN_5, funders_report

MONTHS = figures.months_between("2008-10", "2009-09")


def a_report(hide_small_numbers: bool):
    cells = [
        {"month": "2008-10", "team": "GLASGOW", "n": {"referrals": 3}},
        {
            "month": "2008-11",
            "team": "GLASGOW",
            "n": {"referrals": 7, "withdrawn": 2, "withdrawn_reasons": {"sent_by_mistake": 2}},
        },
    ]
    totals = figures.total(cells)
    return funders_report(
        "2008-10",
        "2009-09",
        figures.referrals_by_month(cells, MONTHS),
        figures.needs(totals),
        figures.headline(totals, {}, date(2026, 11, 23)),
        figures.withdrawals_by_month(cells, MONTHS),
        hide_small_numbers=hide_small_numbers,
    )


def test_published_small_counts_show_as_fewer_than_5_and_lose_their_charts():
    report = a_report(hide_small_numbers=True)
    by_month = next(table for table in report.tables if table.key == "referrals-by-month")
    glasgow = next(row for row in by_month.rows if row[0] == "Glasgow")
    assert glasgow[1:3] == [FEWER_THAN_5, 7]
    assert glasgow[3] == 0  # a zero discloses nobody
    assert all(table.chart is None for table in report.tables)


def test_without_the_setting_every_count_is_shown():
    report = a_report(hide_small_numbers=False)
    by_month = next(table for table in report.tables if table.key == "referrals-by-month")
    assert next(row for row in by_month.rows if row[0] == "Glasgow")[1:3] == [3, 7]
    assert by_month.chart is not None
    assert report.period == "October 2008 to September 2009"
    assert report.file_stem == "familyties-2008-10-to-2009-09"


def test_the_report_counts_withdrawals_by_month_team_and_reason():
    report = a_report(hide_small_numbers=False)
    tables = {table.key: table for table in report.tables}
    glasgow = next(r for r in tables["withdrawals-by-month"].rows if r[0] == "Glasgow")
    assert glasgow[1:3] == [0, 2] and glasgow[-1] == 2
    assert tables["withdrawals-by-month"].title == "Referrals withdrawn by month and referring team"
    assert tables["withdrawal-reasons"].rows == [
        ["The family changed their mind", 0],
        ["Sent by mistake", 2],
        ["Another reason", 0],
    ]
    assert ["Referrals withdrawn", 2] in tables["headline"].rows


def count(service: str, through: str, events: int) -> LogCount:
    return LogCount(service, through, events, datetime(2026, 11, 23, tzinfo=UTC))


def test_a_rebuild_is_complete_only_with_every_event_each_service_says_it_published():
    replay = Replay()
    replay.seen["/familyties/referral"] = {"01", "02", "03", "09"}  # 09: after the count
    replay.seen["/familyties/casework"] = {"01"}
    counts = {
        "referral": count("referral", "03", 3),
        "casework": count("casework", "02", 2),
        "directory": count("directory", "00", 0),
    }
    missing = shortfalls(replay, counts)
    assert [(s.service, s.published, s.seen) for s in missing] == [("casework", 2, 1)]
    assert str(missing[0]) == "casework published 2 events; 1 were on the broker"


def test_a_service_that_published_but_never_said_how_many_cannot_be_checked():
    replay = Replay()
    replay.seen["/familyties/directory"] = {"01"}
    missing = shortfalls(replay, {})
    assert [(s.service, s.published) for s in missing] == [("directory", None)]


def test_an_empty_topic_with_nothing_said_is_complete():
    assert shortfalls(Replay(), {}) == []
