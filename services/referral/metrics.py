"""Intake's business gauges, read from its database at scrape time."""

from __future__ import annotations

from backbone.clock import now, start_of_month
from backbone.events.vocabulary import REFERRING_TEAMS
from backbone.metrics import DatabaseGauge
from services.referral.repository import Referrals


def referrals_this_month(referrals: Referrals) -> list[DatabaseGauge]:
    """Referrals received, and withdrawn, since the start of this UK calendar month."""
    return [
        DatabaseGauge(
            "familyties_referrals_received_this_month",
            "Referrals received since the start of this UK calendar month, by referring team.",
            lambda: referrals.received_by_team(start_of_month(now())),
            label="team",
            values=REFERRING_TEAMS,
        ),
        DatabaseGauge(
            "familyties_referrals_withdrawn_this_month",
            "Referrals withdrawn since the start of this UK calendar month, by referring team.",
            lambda: referrals.withdrawn_by_team(start_of_month(now())),
            label="team",
            values=REFERRING_TEAMS,
        ),
    ]
