"""Casework's business gauges, read from its database at scrape time."""

from __future__ import annotations

from backbone.clock import now
from backbone.metrics import DatabaseGauge
from services.casework import domain
from services.casework.repository import Cases


def waiting_cases(cases: Cases) -> list[DatabaseGauge]:
    def waiting_too_long() -> int:
        at = now()
        return sum(domain.waiting_for_first_contact(c, at) for c in cases.without_first_contact())

    return [
        DatabaseGauge(
            "familyties_cases_waiting_for_coordinator",
            "Open cases not yet allocated to a coordinator.",
            cases.waiting_for_coordinator,
        ),
        DatabaseGauge(
            "familyties_cases_waiting_first_contact_too_long",
            "Open or allocated cases with no first contact more than 5 working days after "
            "their referral was received.",
            waiting_too_long,
        ),
    ]
