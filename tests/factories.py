"""Synthetic referrals: invented people; phone numbers from Ofcom's drama ranges."""

from __future__ import annotations

import copy
from datetime import timedelta

from backbone import outbox
from backbone.clock import now, today
from backbone.events.envelope import new_event
from backbone.events.referral import ReferralSchema
from services.referral import SOURCE, domain

_REFERRAL = {
    "referrer": {
        "team": "GLASGOW",
        "role": "prison_life_coach",
        "name": "Morgan Testperson",
        "organisation": "Routes out of Prison",
        "phone": "0141 496 0001",
    },
    "family_member": {
        "name": "Jordan Example",
        "date_of_birth": "1986-04-12",
        "relationship_to_person_in_custody": "partner",
        "contact": {"phone": "0141 496 0123", "postcode": "G2 1AA"},
        "local_authority": "GLASGOW_CITY",
        "preferred_contact_method": "telephone",
        "safe_contact_notes": "Call after 6pm; do not leave messages.",
    },
    "person_in_custody": {
        "status": "sentenced",
        "establishment": "BARLINNIE",
        "expected_release_date": "2027-06-30",
    },
    "children": {
        "number": 2,
        "ages": [4, 9],
        "care_arrangement": "with_family",
        "child_protection_involvement": False,
    },
    "needs": ["coping_with_imprisonment_or_release", "children_and_parenting"],
    "urgency": "routine",
    "reason": "Struggling since the sentence; the children ask where their dad is.",
    "consent": {
        "referral": True,
        "share_with_agencies": False,
        "recorded_on": "2026-01-05",
        "recorded_by": "Morgan Testperson",
    },
}


def referral(n: int = 0, **changes) -> dict:
    """A valid referral body. `n` makes a different family member (name, birth, phone)."""
    body = copy.deepcopy(_REFERRAL)
    body["referred_on"] = (today() - timedelta(days=1)).isoformat()
    if n:
        body["family_member"]["name"] = f"Jordan Example {n}"
        body["family_member"]["date_of_birth"] = f"19{60 + n % 40}-0{1 + n % 9}-1{n % 10}"
        body["family_member"]["contact"]["phone"] = f"0141 496 {500 + n % 500:04d}"
    for path, value in changes.items():
        target = body
        *parents, leaf = path.split("__")
        for key in parents:
            target = target[key]
        target[leaf] = value
    return body


def stored_referral(body: dict | None = None, referral_id: str = "r1") -> dict:
    """The document intake stores for `body`: the record, its ReferralReceived in the outbox."""
    schema = ReferralSchema()
    loaded = schema.dump(schema.load(body or referral()))
    record = domain.referral_record(
        referral_id,
        {"_id": "p1", "name": "Partner"},
        loaded,
        now(),
        domain.Duplicates([], [], []),
        None,
        "print",
    )
    event = new_event(
        "ReferralReceived", SOURCE, referral_id, domain.referral_received_data(record)
    )
    return outbox.with_events(record, event)


def referral_received_data() -> dict:
    """Valid data of a ReferralReceived event."""
    return stored_referral()["outbox"][0]["data"]
