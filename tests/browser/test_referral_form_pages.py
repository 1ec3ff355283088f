"""A partner's referrer refers a family in Debian's Chromium (Playwright), without script:
mistakes on several pages first, an answer changed from "Check your answers", then sent
and confirmed. Every page is checked with axe-core; screenshots are kept."""

from __future__ import annotations

import pytest

from services.referral.app import create_app
from tests.browser.chromium import (
    ARTEFACTS,
    accessibility_problems,
    served,
)
from tests.browser.referral_form_steps import ANSWERS, fill_page
from tests.integration.partner_site import PASSWORD, partner_with_users

EMAIL = "morgan.lifecoach@glasgow.example"


@pytest.fixture
def site(settings):
    app = create_app(settings)
    partner_with_users(app, "Routes out of Prison Glasgow", (EMAIL, "Morgan Lifecoach", "referrer"))
    with served(app) as url:
        yield {"url": url, "app": app}


def test_a_referrer_refers_a_family_through_mistakes_and_a_change(site, page):
    checked: dict[str, list[str]] = {}
    ARTEFACTS.mkdir(exist_ok=True)

    def check(name: str, screenshot: bool = False) -> None:
        checked[name] = accessibility_problems(page)
        if screenshot:
            path = ARTEFACTS / f"referral-form-{name.replace(' ', '-').replace(',', '')}.png"
            page.screenshot(path=str(path), full_page=True)

    def errors() -> list[str]:
        return [t.strip() for t in page.locator(".govuk-error-summary__list a").all_inner_texts()]

    page.goto(f"{site['url']}/referrals/new")
    page.fill("#username", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.click("nav >> text=Refer a family")
    assert page.locator("h1").inner_text() == "Refer a family"
    check("start", screenshot=True)
    page.click("button:has-text('Start now')")

    assert page.locator("h1").inner_text() == "Consent"
    check("consent")
    fill_page(page, "consent", {**ANSWERS["consent"], "consent_given": "no"})
    assert errors() == ["The family member must consent to the referral before it is made."]
    page.click(".govuk-error-summary a[href='#consent_given']")
    assert page.evaluate("document.activeElement.id") == "consent_given"
    check("consent, with errors", screenshot=True)
    fill_page(page, "consent")

    check("about you")
    fill_page(page, "about-you")

    check("family member")
    no_such_day = {"date_of_birth-day": "31", "date_of_birth-month": "2"}
    fill_page(page, "family-member", {**ANSWERS["family-member"], **no_such_day})
    assert errors() == ["Date of birth must be a real date, like 12 4 1986"]
    assert page.input_value("#full_name") == "Jordan Example"  # what was typed is kept
    check("family member, with errors", screenshot=True)
    fill_page(page, "family-member")

    check("contact")
    fill_page(page, "contact", {"contact_method": "letter", "postcode": ""})
    assert errors() == ["Give the family member's postcode to contact them by letter."]
    check("contact, with errors")
    fill_page(page, "contact")

    check("person in custody")
    fill_page(page, "person-in-custody")
    check("children")
    fill_page(page, "children", {**ANSWERS["children"], "children_number": "1"})
    assert errors() == ["Give no more ages than there are children."]
    check("children, with errors")
    fill_page(page, "children")
    check("needs")
    fill_page(page, "needs", {})
    assert errors() == ["Identify at least one need."]
    fill_page(page, "needs")
    check("why now")
    fill_page(page, "why-now")

    assert page.locator("h1").inner_text() == "Check your answers before sending the referral"
    check("check answers", screenshot=True)
    page.click("#change-urgency")
    assert page.locator("h1").inner_text() == "Why now"
    fill_page(page, "why-now", {"urgency": "urgent"})
    assert page.locator("h1").inner_text() == "Check your answers before sending the referral"
    row = page.locator(".govuk-summary-list__row", has_text="How urgent is the referral?")
    assert "Urgent" in row.inner_text()

    page.click("button:has-text('Accept and send')")
    assert "Referral sent" in page.locator("h1").inner_text()
    reference = page.locator("#reference").inner_text()
    check("confirmation", screenshot=True)

    # A second referral begun and left: it waits on "Your drafts".
    page.click("text=Refer another family")
    page.click("button:has-text('Start now')")
    fill_page(page, "consent")
    page.goto(f"{site['url']}/referrals/new")
    page.click("text=Continue a referral you started")
    assert page.locator("h1").inner_text() == "Your drafts"
    assert page.locator("tbody tr").count() == 1
    check("your drafts", screenshot=True)
    # Deleting it asks first.
    page.click("tbody a:has-text('Delete')")
    assert "Are you sure you want to delete" in page.locator("h1").inner_text()
    check("delete a draft")
    page.click("button:has-text('Delete the draft')")
    assert "You have no drafts." in page.locator("main").inner_text()
    check("your drafts, one deleted")

    record = site["app"].extensions["intake"].referrals.collection.find_one({"_id": reference})
    assert record["referral"]["urgency"] == "urgent"
    assert record["referral"]["family_member"]["name"] == "Jordan Example"
    assert [event["type"] for event in record["outbox"]] == ["ReferralReceived"]
    assert {name: problems for name, problems in checked.items() if problems} == {}
    assert len(checked) == 18
