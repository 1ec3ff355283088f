"""What intake does with other services' events: it follows each referral's case, so
that a partner sees what became of the referral."""

from __future__ import annotations

from pymongo.client_session import ClientSession

from backbone.consumer import Handler
from backbone.events.case import closed_for_withdrawal
from backbone.events.envelope import Event
from services.referral import domain
from services.referral.repository import Referrals

CASE_EVENTS = ["CaseOpened", "CaseAllocated", "CaseDeclined", "CaseClosed", "CaseReopened"]


def handlers(referrals: Referrals) -> dict[str, Handler]:
    def follow_case(event: Event, session: ClientSession) -> None:
        if event.type == "CaseClosed" and closed_for_withdrawal(event.data):
            referrals.withdrawal_honoured(event.data["referral_id"], session)
            return
        change = domain.referrer_view(event.type, event.data)
        if change is not None:
            referrals.follow_case(event.data["referral_id"], change, session)

    return dict.fromkeys(CASE_EVENTS, follow_case)
