"""The referral the benchmark posts, and the document intake stores for it."""

from __future__ import annotations

from backbone.clock import now
from backbone.events.envelope import new_event
from backbone.events.referral import ReferralSchema
from services.referral import SOURCE, domain
from tests.factories import referral


def body(n: int) -> dict:
    """A referral of a different person each time (the factory's phone numbers, from
    Ofcom's small drama range, would repeat): most referrals are not duplicates."""
    return referral(
        n,
        family_member__contact={"postcode": "G2 1AA"},
        family_member__preferred_contact_method="letter",
    )


def stored_document() -> dict:
    loaded = ReferralSchema().dump(ReferralSchema().load(body(1)))
    record = domain.referral_record(
        "template",
        {"_id": "partner", "name": "Bench partner"},
        loaded,
        now(),
        domain.Duplicates([], [], []),
        None,
        "x" * 64,
    )
    event = new_event("ReferralReceived", SOURCE, "template", domain.referral_received_data(record))
    return {**record, "outbox": [event]}
