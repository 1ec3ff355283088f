"""The reports' figures from counters: ranges of months, percentiles from counts, and
the figures that depend on today."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from services.reporting import figures


def test_a_range_of_months_crosses_the_year():
    assert figures.months_between("2008-10", "2009-02") == [
        "2008-10",
        "2008-11",
        "2008-12",
        "2009-01",
        "2009-02",
    ]


@pytest.mark.parametrize(
    ("today", "expected"),
    [(date(2026, 11, 23), ("2025-11", "2026-10")), (date(2026, 1, 1), ("2025-01", "2025-12"))],
)
def test_the_default_range_is_the_last_12_complete_months(today, expected):
    assert figures.last_complete_months(today) == expected


def test_percentiles_are_nearest_rank_over_the_counted_values():
    days = {0: 2, 3: 5, 10: 3}  # ten referrals
    assert figures.percentile(days, 50) == 3
    assert figures.percentile(days, 90) == 10
    assert figures.percentile({}, 50) is None


def test_every_team_and_month_has_a_cell_in_the_table_even_with_no_referrals():
    cells = [{"month": "2009-01", "team": "GLASGOW", "n": {"referrals": 2}}]
    table = figures.referrals_by_month(cells, ["2008-12", "2009-01"])
    glasgow = next(row for row in table["teams"] if row["team"] == "GLASGOW")
    other = next(row for row in table["teams"] if row["team"] == "OTHER")
    assert glasgow["counts"] == [0, 2]
    assert other["counts"] == [0, 0]
    assert table["month_totals"] == [0, 2]
    assert table["total"] == 2


def test_waiting_more_than_5_working_days_is_counted_from_today():
    totals = Counter({"waiting_since.2026-11-16": 1, "waiting_since.2026-11-13": 2})
    found = figures.headline(totals, {}, date(2026, 11, 23))
    assert found["waiting_for_first_contact"] == 3
    assert found["waiting_more_than_5_working_days"] == 2  # 6 working days since Friday 13th


def test_the_longest_support_period_may_be_one_still_going_on():
    totals = Counter({"support_days.30": 1, "support_ongoing_since.2026-01-01": 1})
    support = figures.headline(totals, {}, date(2026, 3, 2))["support"]
    assert support == {
        "longest_period_days": 60,
        "longest_is_ongoing": True,
        "ongoing": 1,
        "periods_ended": 1,
    }


def test_signposts_are_counted_by_the_agency_type_of_their_service():
    totals = Counter(
        {"signposts.svc1.engaged": 2, "signposts.svc2.pending": 1, "signposts.gone.pending": 1}
    )
    services = {"svc1": {"agency_type": "statutory"}, "svc2": {"agency_type": "voluntary"}}
    found = figures.headline(totals, services, date(2026, 11, 23))["signposts"]
    by_type = {row["agency_type"]: row for row in found["by_agency_type"]}
    assert found["total"] == 4
    assert by_type["statutory"]["engaged"] == 2
    assert by_type["voluntary"]["pending"] == 1
    assert by_type["not_recorded"]["pending"] == 1
