"""What every casework page template may use: the vocabularies, and small helpers that
give times, statuses, choices and errors in the words and shapes the GOV.UK Frontend
macros take."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backbone.clock import uk_time
from backbone.events import vocabulary
from backbone.events.case import (
    CLOSING_OUTCOMES,
    CONTACT_METHODS,
    SIGNPOST_METHODS,
    SIGNPOST_OUTCOMES,
)
from services.casework.domain import STATUSES
from services.casework.operations import is_manager

TIMELINE_TITLES = {
    "CaseOpened": "Referral received",
    "CaseAllocated": "Allocated",
    "ContactRecorded": "Contact",
    "NeedsAssessed": "Needs recorded",
    "SignpostMade": "Signposted",
    "SignpostOutcomeRecorded": "Signpost outcome",
    "SupportStarted": "One-to-one support began",
    "SupportEnded": "One-to-one support ended",
    "CaseDeclined": "Declined",
    "CaseClosed": "Closed",
    "CaseReopened": "Reopened",
    "ReferralWithdrawn": "Referral withdrawn",
}
# GOV.UK Frontend's tag is blue unless given a colour.
STATUS_TAG_CLASSES = {
    "open": "govuk-tag--yellow",
    "allocated": "",
    "closed": "govuk-tag--grey",
    "declined": "govuk-tag--red",
}


def template_context() -> dict[str, Any]:
    return {
        "STATUSES": STATUSES,
        "STATUS_TAG_CLASSES": STATUS_TAG_CLASSES,
        "NEEDS": vocabulary.NEEDS,
        "LOCAL_AUTHORITIES": vocabulary.LOCAL_AUTHORITIES,
        "RELATIONSHIPS": vocabulary.RELATIONSHIPS,
        "ESTABLISHMENTS": vocabulary.ESTABLISHMENTS,
        "CONTACT_METHODS": CONTACT_METHODS,
        "SIGNPOST_METHODS": SIGNPOST_METHODS,
        "SIGNPOST_OUTCOMES": SIGNPOST_OUTCOMES,
        "CLOSING_OUTCOMES": CLOSING_OUTCOMES,
        "TIMELINE_TITLES": TIMELINE_TITLES,
        "WITHDRAWAL_REASONS": vocabulary.WITHDRAWAL_REASONS,
        "is_manager": is_manager,
        "local_time": local_time,
        "choice_items": choice_items,
    }


def local_time(value: datetime | str | None) -> str:
    """A time as people here read it (backbone.clock.uk_time); nothing for no time."""
    return "" if value is None else uk_time(value)


def choice_items(vocabulary: dict[str, str], any_label: str = "Any") -> list[dict[str, str]]:
    """A vocabulary as the items of a GOV.UK select, after a choice of any."""
    return [{"value": "", "text": any_label}] + [
        {"value": code, "text": words} for code, words in vocabulary.items()
    ]
