"""A valid referral as the form's pages take it, page by page, and a step that fills the
form in Chromium with it (for browser stories); the integration tests post the same
answers. Synthetic people; phone numbers from Ofcom's drama ranges."""

from __future__ import annotations

from typing import Any

# Each page's posted fields: name -> value (a list for checkboxes). The field names are
# the elements' ids; a date's boxes are `<name>-day`, `-month` and `-year`.
ANSWERS: dict[str, dict[str, Any]] = {
    "consent": {
        "consent_given": "yes",
        "share_with_agencies": "no",
        "consent_date-day": "5",
        "consent_date-month": "1",
        "consent_date-year": "2026",
    },
    "about-you": {"team": "GLASGOW", "role": "prison_life_coach"},
    "family-member": {
        "full_name": "Jordan Example",
        "date_of_birth-day": "12",
        "date_of_birth-month": "4",
        "date_of_birth-year": "1986",
        "relationship": "partner",
        "local_authority": "GLASGOW_CITY",
    },
    "contact": {
        "contact_method": "telephone",
        "phone": "0141 496 0123",
        "email": "",
        "address_line_1": "",
        "address_line_2": "",
        "town": "",
        "postcode": "G2 1AA",
        "safe_contact_notes": "Call after 6pm; do not leave messages.",
    },
    "person-in-custody": {
        "custody_status": "sentenced",
        "establishment": "BARLINNIE",
        "expected_release_date-day": "30",
        "expected_release_date-month": "6",
        "expected_release_date-year": "2027",
    },
    "children": {
        "children_number": "2",
        "children_ages": "4, 9",
        "care_arrangement": "with_family",
        "child_protection": "no",
    },
    "needs": {"needs": ["coping_with_imprisonment_or_release", "children_and_parenting"]},
    "why-now": {
        "urgency": "routine",
        "reason": "Struggling since the sentence; the children ask where their dad is.",
    },
}
PAGE_ORDER = list(ANSWERS)
GROUPS = {  # fields answered by choosing: radios and checkboxes (the rest are typed or selects)
    "consent_given",
    "share_with_agencies",
    "team",
    "role",
    "relationship",
    "contact_method",
    "custody_status",
    "care_arrangement",
    "child_protection",
    "needs",
    "urgency",
}
SELECTS = {"local_authority", "establishment"}


def fill_page(page: Any, slug: str, answers: dict[str, Any] | None = None) -> None:
    """Answer the question page `slug` open in Playwright's `page` (ANSWERS by default),
    and press Continue."""
    for name, value in (ANSWERS[slug] if answers is None else answers).items():
        if name in GROUPS:
            for choice in value if isinstance(value, list) else [value]:
                page.check(f"input[name='{name}'][value='{choice}']")
        elif name in SELECTS:
            page.select_option(f"#{name}", value)
        else:
            page.fill(f"#{name}", value)
    page.click("button:has-text('Continue')")


def fill_valid_referral(page: Any, base_url: str) -> str:
    """From the start page to the confirmation, signed in: answer every page with
    ANSWERS, accept and send. Returns the reference (the referral's id)."""
    page.goto(f"{base_url}/referrals/new")
    page.click("button:has-text('Start now')")
    for slug in PAGE_ORDER:
        fill_page(page, slug)
    page.click("button:has-text('Accept and send')")
    return page.locator("#reference").inner_text()
