"""Events as reporting's consumer receives them (decoded: dates and times as objects),
for unit tests and benchmarks of the view. Only what reporting reads is filled in, with
synthetic words where a field holds personal data, so a test can check none is kept."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from itertools import count
from typing import Any

from backbone.events.catalogue import CATALOGUE
from backbone.events.envelope import Event

_ids = count(1)


def event(kind: str, data: dict[str, Any], at: datetime | None = None) -> Event:
    """An event with a fresh, ordered id (UUIDv7-like text sorts as ids do)."""
    number = next(_ids)
    return Event(
        id=f"0190{number:028x}",
        type=kind,
        source=CATALOGUE[kind].source,
        subject=data.get("case_id", data.get("referral_id", "")),
        time=at or datetime(2026, 11, 23, tzinfo=UTC),
        schemaversion=1,
        data=data,
    )


def referral_received(
    referral_id: str,
    team: str = "GLASGOW",
    referred_on: date = date(2008, 10, 6),
    local_authority: str = "GLASGOW_CITY",
    children: int = 2,
    needs: tuple[str, ...] = ("housing",),
) -> Event:
    return event(
        "ReferralReceived",
        {
            "referral_id": referral_id,
            "referred_on": referred_on,
            "referrer": {"team": team, "role": "prison_life_coach", "name": "Alex Example"},
            "family_member": {
                "name": "Sam Synthetic",
                "date_of_birth": date(1980, 1, 2),
                "local_authority": local_authority,
                "contact": {"phone": "0141 496 0001"},
            },
            "children": {"number": children, "child_protection_involvement": False},
            "needs": list(needs),
            "reason": "Synthetic free text that must never be kept.",
        },
    )


def case_event(kind: str, referral_id: str, on: date, **data: Any) -> Event:
    at = datetime.combine(on, time(10), tzinfo=UTC)
    return event(
        kind,
        {
            "case_id": f"case-{referral_id}",
            "referral_id": referral_id,
            "at": at,
            "by": "s1",
            **data,
        },
        at,
    )


def contact(referral_id: str, on: date, needs: tuple[str, ...] = ()) -> Event:
    happened = datetime.combine(on, time(9), tzinfo=UTC)
    return case_event(
        "ContactRecorded",
        referral_id,
        on,
        contact_id=f"contact-{next(_ids)}",
        method="telephone",
        happened_at=happened,
        duration_minutes=30,
        needs_addressed=list(needs),
    )


def referral_withdrawn(referral_id: str, on: date, reason: str = "family_changed_mind") -> Event:
    at = datetime.combine(on, time(11), tzinfo=UTC)
    return event(
        "ReferralWithdrawn",
        {
            "referral_id": referral_id,
            "partner_id": "p1",
            "reason": reason,
            "details": "Synthetic details that must never be kept.",
            "withdrawn_by": {"kind": "user", "name": "Morgan Testperson"},
            "at": at,
        },
        at,
    )
