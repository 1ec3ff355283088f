"""Every kind of message notifications sends: who it is for, whether they may turn it off,
its template (messages/<name>.txt) and the placeholders the template may use.

Families are never recipients: no kind is addressed to a family member, whatever their
preferred contact, so "do not contact" is honoured by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

# Who a message is for.
REFERRER = "referrer"  # the person who made the referral (their address on it)
PARTNER = "partner"  # the partner organisation (its named address, or its endpoints)
MANAGER = "manager"
COORDINATOR = "coordinator"
STAFF = "staff"  # any staff member: what the pages themselves send

# How staff take an optional kind of message.
EACH, DIGEST, NONE = "each", "digest", "none"
CHOICES = {EACH: "Each one, as it happens", DIGEST: "A daily digest", NONE: "None"}


@dataclass(frozen=True)
class Kind:
    name: str
    audience: str
    summary: str  # what the preferences page and the template list call it
    placeholders: tuple[str, ...]
    optional: bool = False  # staff may choose DIGEST or NONE
    webhook_type: str | None = None  # the Standard Webhooks event type, for partners


_REFERRAL = ("reference", "status_link", "partner_name")

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in [
        Kind(
            "referral_received",
            REFERRER,
            "Your referral was received",
            _REFERRAL,
            webhook_type="referral.received",
        ),
        Kind(
            "referral_accepted",
            REFERRER,
            "Your referral was accepted",
            _REFERRAL,
            webhook_type="referral.accepted",
        ),
        Kind(
            "referral_allocated",
            REFERRER,
            "Your referral was given to a coordinator",
            _REFERRAL,
            webhook_type="referral.allocated",
        ),
        Kind(
            "referral_declined",
            REFERRER,
            "Your referral was declined",
            (*_REFERRAL, "reason"),
            webhook_type="referral.declined",
        ),
        Kind(
            "referral_closed",
            REFERRER,
            "Your referral's case was closed",
            (*_REFERRAL, "outcome"),
            webhook_type="referral.closed",
        ),
        Kind(
            "new_referral",
            MANAGER,
            "A new referral is waiting",
            ("reference", "case_link", "team", "urgent", "preferences_link"),
            optional=True,
        ),
        Kind(
            "waiting_summary",
            MANAGER,
            "Daily: referrals waiting more than 5 working days for a first contact",
            ("count", "waiting", "cases_link", "date", "preferences_link"),
            optional=True,
        ),
        Kind(
            "case_allocated",
            COORDINATOR,
            "A case was allocated or reassigned to you",
            ("reference", "case_link", "reassigned", "preferences_link"),
        ),
        Kind(
            "case_withdrawn",
            COORDINATOR,
            "The referral of a case of yours was withdrawn, and the case closed",
            ("reference", "case_link", "preferences_link"),
        ),
        Kind(
            "endpoint_disabled",
            PARTNER,
            "A webhook endpoint was disabled",
            ("partner_name", "endpoint_url", "reason"),
        ),
        Kind(
            "daily_digest",
            MANAGER,  # and coordinators: every staff member who chose a digest
            "Daily digest of the messages you chose to get once a day",
            ("date", "items", "preferences_link"),
        ),
        Kind(
            "sign_in_link",
            STAFF,
            "A link to sign in to these pages, sent when asked for",
            ("sign_in_link", "minutes"),
        ),
    ]
}

WEBHOOK_TYPES = {k.webhook_type: k for k in KINDS.values() if k.webhook_type}


def optional_kinds(roles: list[str]) -> list[Kind]:
    """The kinds of message a staff member with these roles may choose how to take."""
    return [k for k in KINDS.values() if k.optional and k.audience in roles]
