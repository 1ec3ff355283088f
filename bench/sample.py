"""The referral the benchmark posts, and the document intake stores for it."""

from __future__ import annotations

from tests.factories import referral, stored_referral


def body(n: int) -> dict:
    """A referral of a different person each time (the factory's phone numbers, from
    Ofcom's small drama range, would repeat): most referrals are not duplicates."""
    return referral(
        n,
        family_member__contact={"postcode": "G2 1AA"},
        family_member__preferred_contact_method="letter",
    )


def stored_document() -> dict:
    return stored_referral(body(1), "template")
