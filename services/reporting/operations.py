"""The service layer of reporting: which cells a report reads, and who may read what.
The API, the pages and the exports all come through here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from backbone.clock import today
from backbone.errors import Forbidden
from services.reporting import figures, report
from services.reporting.repository import ReportingView
from services.reporting.tables import Report

MANAGER = "manager"


@dataclass(frozen=True)
class Period:
    """Whole months, both included, and the filters of a report."""

    first: str
    last: str
    team: str | None = None
    local_authority: str | None = None

    @classmethod
    def of(cls, query: dict[str, Any], on: date | None = None) -> Period:
        """The period a query (ReportQuerySchema, loaded) asks for; by default the last
        12 complete months before `on` (today)."""
        first, last = figures.last_complete_months(on or today())
        return cls(
            query.get("first", first),
            query.get("last", last),
            query.get("team"),
            query.get("local_authority"),
        )

    @property
    def months(self) -> list[str]:
        return figures.months_between(self.first, self.last)

    def as_dict(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "last": self.last,
            "team": self.team,
            "local_authority": self.local_authority,
        }


class Reports:
    def __init__(self, view: ReportingView, hide_small_numbers: bool = False) -> None:
        self.view = view
        # Counts of 1 to 4 are shown as "fewer than 5" in exports for publication.
        self.hide_small_numbers = hide_small_numbers

    def _cells(self, period: Period, counters: list[str] | None = None) -> list[dict[str, Any]]:
        return self.view.month_cells(
            period.first, period.last, period.team, period.local_authority, counters
        )

    def referrals_by_month(self, period: Period) -> dict[str, Any]:
        found = figures.referrals_by_month(self._cells(period, ["referrals"]), period.months)
        return {"period": period.as_dict(), **found}

    def withdrawals_by_month(self, period: Period) -> dict[str, Any]:
        found = figures.withdrawals_by_month(self._cells(period, ["withdrawn"]), period.months)
        return {"period": period.as_dict(), **found}

    def needs(self, period: Period) -> dict[str, Any]:
        cells = self._cells(period, ["needs_identified", "needs_answered"])
        found = figures.needs(figures.total(cells))
        return {"period": period.as_dict(), **found}

    def headline(self, period: Period) -> dict[str, Any]:
        totals = figures.total(self._cells(period))
        found = figures.headline(totals, self.view.services(), today())
        return {"period": period.as_dict(), **found}

    def caseloads(self, caller: dict[str, Any]) -> dict[str, Any]:
        """Coordinators' caseloads: managers only."""
        if MANAGER not in caller.get("roles", []):
            raise Forbidden("Caseloads are for managers.")
        return figures.caseloads(self.view.caseload_cells())

    def report(self, period: Period, for_publication: bool = False) -> Report:
        """Every table of the funders' report, from one read of the cells. For publication,
        small counts are hidden if the service is set to hide them."""
        cells = self._cells(period)
        totals = figures.total(cells)
        return report.funders_report(
            period.first,
            period.last,
            figures.referrals_by_month(cells, period.months),
            figures.needs(totals),
            figures.headline(totals, self.view.services(), today()),
            figures.withdrawals_by_month(cells, period.months),
            hide_small_numbers=for_publication and self.hide_small_numbers,
            filters=report.filter_words(period.team, period.local_authority),
        )
