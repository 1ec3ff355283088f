"""Partners without a system of their own, on the stack as `make run` starts it, over HTTP
and Kafka: a Life Coach invited by the command line signs in with a second factor in
Debian's Chromium, refers a family through the form (with mistakes first, and an answer
changed from "Check your answers"), and sees the referral accepted and allocated as
casework works it; then withdraws another, and casework closes its case as withdrawn.
And the API's withdrawal: the case closed with the reason, and reporting counts it.
Every page is checked with axe-core; the main ones are kept as screenshots."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Page

from backbone.clock import today
from tests.background import wait_for
from tests.browser.chromium import ARTEFACTS, accessibility_problems
from tests.browser.referral_form_steps import ANSWERS, PAGE_ORDER, fill_page
from tests.e2e.reporting_client import Reporting
from tests.e2e.test_following_a_referral import log_lines
from tests.factories import referral
from tests.integration.partner_site import app_code

pytestmark = pytest.mark.e2e

PASSWORD = "a long password for Jo"


@pytest.fixture(scope="module")
def people(stack) -> Reporting:
    """A partner with an API key, a manager, a coordinator and a report viewer."""
    return Reporting(stack)


def test_a_withdrawn_referral_closes_its_case_and_is_counted(stack, people):
    intake, casework = stack.url("referral"), stack.url("casework")
    month = today().strftime("%Y-%m")
    this_month = {"from": month, "to": month}
    before = people.report("headline", **this_month)
    referral_id = people.refer(1, "GLASGOW", today())
    referral_url = f"{intake}/v1/referrals/{referral_id}"
    case_id = people.case_of(referral_id)
    people.allocate(case_id)

    def referral() -> dict:
        return requests.get(referral_url, headers=people.partner, timeout=5).json()

    assert wait_for(lambda: referral()["status"] == "allocated", timeout=60)

    withdrawn = requests.post(
        f"{referral_url}/withdrawal",
        json={"reason": "other", "details": "The family moved to Orkney."},
        headers=people.partner,
        timeout=10,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"

    def the_case() -> dict:
        return requests.get(
            f"{casework}/v1/cases/{case_id}", headers=people.coordinator, timeout=5
        ).json()

    assert wait_for(lambda: the_case()["status"] == "closed", timeout=60), stack.log_path
    case = the_case()
    assert case["outcomes"] == ["withdrawn"]
    assert case["withdrawal"]["reason"] == "other"
    noted = next(entry for entry in case["timeline"] if entry["kind"] == "ReferralWithdrawn")
    assert noted["summary"] == (
        "Withdrawn by Routes out of Prison: Another reason. The family moved to Orkney."
    )

    # Intake hears of the case closed for the withdrawal, and stays withdrawn.
    def intake_followed_the_closing() -> bool:
        return any(
            line.get("service") == "referral"
            and line.get("type") == "CaseClosed"
            and line.get("subject") == case_id
            for line in log_lines(stack, "event processed")
        )

    assert wait_for(intake_followed_the_closing, timeout=60), stack.log_path
    seen = referral()
    assert seen["status"] == "withdrawn"
    assert [h["status"] for h in seen["status_history"]] == [
        "received",
        "accepted",
        "allocated",
        "withdrawn",
    ]

    def counted() -> bool:  # intake's withdrawal and casework's closing, in either order
        headline = people.report("headline", **this_month)
        return (
            headline["withdrawn"] == before["withdrawn"] + 1
            and headline["closing_outcomes"].get("withdrawn", 0)
            == before["closing_outcomes"].get("withdrawn", 0) + 1
        )

    assert wait_for(counted, timeout=60), stack.log_path
    headline = people.report("headline", **this_month)
    assert (
        headline["withdrawal_reasons"]["other"] == before["withdrawal_reasons"].get("other", 0) + 1
    )
    assert headline["open_now"] == before["open_now"]


def test_a_life_coach_refers_a_family_on_the_web_and_follows_it(stack, people, page: Page):
    intake, casework = stack.url("referral"), stack.url("casework")
    made = stack.familyties("partners", "create", "Routes out of Prison Glasgow")
    partner_id = re.search(r"created with id (\S+)\.", made).group(1)
    partner_key = {"Authorization": f"Bearer {made.strip().splitlines()[-1]}"}
    stack.familyties("partners", "require-second-factor", partner_id)
    invited = stack.familyties(
        "partners", "invite", partner_id, "jo.lifecoach@glasgow.example", "Jo Lifecoach"
    )
    link = invited.strip().splitlines()[-1]
    assert link.startswith(f"{intake}/invitations/")  # intake's own address under make run

    checked: dict[str, list[str]] = {}

    def check(name: str, screenshot: bool = False) -> None:
        checked[name] = accessibility_problems(page)
        if screenshot:
            ARTEFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTEFACTS / f"web-referral-{name}.png"), full_page=True)

    def sign_in() -> None:
        page.fill("#username", "jo.lifecoach@glasgow.example")
        page.fill("#password", PASSWORD)
        page.click("button:has-text('Sign in')")

    # The invitation, then the second factor the organisation requires, before any page.
    page.goto(link)
    page.fill("#password", PASSWORD)
    page.fill("#confirmation", PASSWORD)
    page.click("button:has-text('Create your account')")
    assert page.locator("h1").inner_text() == "Your account is ready"
    page.goto(f"{intake}/sign-in")
    sign_in()
    page.click("text=I cannot scan the QR code")
    secret = page.locator("#secret").inner_text().replace(" ", "")
    check("set-up")
    page.fill("#code", app_code(secret))
    page.click("button:has-text('Continue')")
    assert page.locator("#recovery-codes li").count() == 10
    page.click("text=I have kept my codes")
    page.click("button:has-text('Sign out')")

    # Next time: password and the app's next code.
    sign_in()
    assert page.url.endswith("/sign-in/second-factor")
    check("second-factor", screenshot=True)
    page.fill("#code", app_code(secret, steps_ahead=1))
    page.click("button:has-text('Continue')")

    # A referral with mistakes on several pages first.
    page.click("text=Refer a family")
    page.click("button:has-text('Start now')")
    page.click("button:has-text('Continue')")  # consent not answered: no referral without it
    assert page.locator(".govuk-error-summary").is_visible()
    check("consent-error", screenshot=True)
    fill_page(page, "consent")
    fill_page(page, "about-you")
    fill_page(page, "family-member", {**ANSWERS["family-member"], "full_name": ""})
    assert page.locator("#full_name-error").is_visible()
    check("family-member-error")
    fill_page(page, "family-member")
    fill_page(page, "contact", {**ANSWERS["contact"], "phone": ""})  # telephone, no number
    assert page.locator(".govuk-error-summary").is_visible()
    check("contact-error")
    for slug in PAGE_ORDER[PAGE_ORDER.index("contact") :]:
        fill_page(page, slug)
    assert page.locator("h1").inner_text().startswith("Check your answers")
    check("check-answers", screenshot=True)
    page.click("#change-urgency")
    page.check("input[name='urgency'][value='urgent']")
    page.click("button:has-text('Continue')")
    assert page.locator("h1").inner_text().startswith("Check your answers")
    page.click("button:has-text('Accept and send')")
    reference = page.locator("#reference").inner_text()
    check("confirmation", screenshot=True)

    sent = requests.get(f"{intake}/v1/referrals/{reference}", headers=partner_key, timeout=5)
    assert sent.json()["urgency"] == "urgent"  # the changed answer is what was sent

    # Casework works it; the referral's page follows.
    def shown_status() -> str:
        page.goto(f"{intake}/referrals/{reference}")
        return page.locator("h1 .govuk-tag").inner_text().strip()

    case_id = people.case_of(reference)
    assert wait_for(lambda: shown_status() == "Accepted", timeout=60), stack.log_path
    people.allocate(case_id)
    assert wait_for(lambda: shown_status() == "Allocated", timeout=60), stack.log_path
    assert "Allocated to a coordinator" in page.inner_text("main")
    check("referral-allocated", screenshot=True)

    # Another referral (from the organisation's own system) is withdrawn on the web.
    posted = requests.post(
        f"{intake}/v1/referrals", json=referral(41), headers=partner_key, timeout=10
    )
    assert posted.status_code == 201, posted.text
    other = posted.json()["id"]
    other_case = people.case_of(other)
    page.goto(f"{intake}/referrals")
    check("referrals", screenshot=True)
    page.click(f"text={other}")
    page.click("text=Withdraw this referral")
    page.check("text=The family changed their mind")
    page.click("button:has-text('Withdraw the referral')")
    assert "Referral withdrawn" in page.locator(".govuk-notification-banner--success").inner_text()
    check("withdrawn", screenshot=True)

    def case_status() -> str:
        return requests.get(
            f"{casework}/v1/cases/{other_case}", headers=people.manager, timeout=5
        ).json()["status"]

    assert wait_for(lambda: case_status() == "closed", timeout=60), stack.log_path
    assert checked == {name: [] for name in checked}
