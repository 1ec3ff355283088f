"""Reporting's gauge for the ops team's "service's work" dashboard, read from its view at
scrape time: how many working days families waited for a first contact, lately."""

from __future__ import annotations

from datetime import date

from backbone.clock import today
from backbone.metrics import DatabaseGauge
from services.reporting.operations import Period, Reports

QUANTILES = {"0.5": "median", "0.9": "percentile_90"}
MONTHS = 3  # this month and the two before: recent enough to show a change


def first_contact_times(reports: Reports) -> list[DatabaseGauge]:
    def read() -> dict[str, float]:
        on = today()
        period = Period(_months_back(on, MONTHS - 1), _months_back(on, 0))
        found = reports.headline(period)["first_contact_working_days"]
        # NaN where nobody was contacted yet: no value, rather than a wait of 0 days.
        return {q: float("nan") if found[k] is None else found[k] for q, k in QUANTILES.items()}

    return [
        DatabaseGauge(
            "familyties_first_contact_working_days",
            f"Working days from referral to first contact, of referrals received this month "
            f"and the {MONTHS - 1} before: the median (0.5) and 90th percentile (0.9).",
            read,
            label="quantile",
            values=QUANTILES,
        )
    ]


def _months_back(on: date, months: int) -> str:
    index = on.year * 12 + on.month - 1 - months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
