"""A coordinator's day in Debian's Chromium (Playwright): sign in for the first time,
setting up an authenticator app, find the new case, record a contact, signpost the
family to a service found in the directory search, close the case. Every page is checked
with axe-core; the case page is kept as a screenshot."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pyotp
import pytest

from backbone.clock import UK
from services.casework.app import create_app
from tests.browser.chromium import (
    ARTEFACTS,
    accessibility_problems,
    served,
)
from tests.casework_staff import PASSWORD, app_of, staff_member
from tests.integration.test_casework_api import (
    CRUSE_ID,
    a_referral,
    deliver,
    directory_service,
)


@pytest.fixture
def site(settings):
    """Casework's pages served over real HTTP, with a referral waiting as a case."""
    app = create_app(settings)
    casework = app.extensions["casework"]
    manager = staff_member(casework.staff, "morgan", "Morgan Manager", "manager")
    # No authenticator app yet: it is set up at the first sign-in.
    coordinator, _ = casework.staff.create_account(
        "casey", "Casey Coordinator", "coordinator", PASSWORD
    )
    referral = a_referral()
    referral["family_member"]["name"] = "Alex Testfamily"
    referral["needs"] = ["bereavement", "coping_with_imprisonment_or_release"]
    deliver(casework.cases, "ReferralReceived", referral["referral_id"], referral)
    for name in ["Cruse bereavement helpline", "Bereavement support, Glasgow"]:
        service = directory_service(name)
        deliver(casework.cases, "ServicePublished", service["service"]["id"], service)
    case = casework.cases.cases.find_one({"referral_id": referral["referral_id"]})
    casework.allocate(manager, case["_id"], coordinator["_id"])
    with served(app) as url:
        yield {"url": url, "casework": casework, "case_id": case["_id"]}


def test_a_coordinator_works_a_case_from_sign_in_to_close(site, page):
    checked: dict[str, list[str]] = {}

    def check(name: str) -> None:
        checked[name] = accessibility_problems(page)

    def sign_in(username: str) -> None:
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button:has-text('Sign in')")

    page.goto(f"{site['url']}/cases")
    assert page.url.endswith("/sign-in")  # signed out, sent to sign in
    check("sign in")
    sign_in("morgan")  # a manager first: allocation and the audit trail
    assert page.url.endswith("/sign-in/second-factor")
    check("second factor code")
    page.fill("#code", app_of(site["casework"].staff, "morgan").code())
    page.click("button:has-text('Continue')")
    assert page.locator("h1").inner_text() == "All cases"
    page.click("text=Alex Testfamily")
    page.click("text=Reassign")
    check("allocate form")
    page.click("text=Back to the case")
    page.click("text=Audit trail")
    check("audit trail")
    page.click("button:has-text('Sign out')")

    page.fill("#username", "casey")
    page.fill("#password", "wrong password")
    page.click("button:has-text('Sign in')")
    assert page.locator(".govuk-error-summary").is_visible()
    check("sign in, with an error")
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")

    # Casey's first sign-in: an authenticator app is set up before any page.
    assert page.url.endswith("/second-factor/set-up")
    page.click("text=I cannot scan the QR code")
    check("second factor set-up")
    secret = page.locator("#secret").inner_text().replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).at(time.time() + 300))  # five minutes on: wrong
    page.click("button:has-text('Continue')")
    assert page.locator(".govuk-error-summary").is_visible()
    check("second factor set-up, with an error")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("button:has-text('Continue')")
    assert page.locator("#recovery-codes li").count() == 10
    check("recovery codes")
    page.click("text=I have kept my codes")
    assert page.locator("h1").inner_text() == "My cases"
    page.click("text=Make new recovery codes")
    check("new recovery codes")
    page.click("text=Cancel")

    assert page.locator("h1").inner_text() == "My cases"
    page.check("#waiting_for_first_contact")
    page.click("button:has-text('Apply filters')")
    assert "No cases match." in page.inner_text("main")  # referred today: not waiting yet
    page.uncheck("#waiting_for_first_contact")
    page.click("button:has-text('Apply filters')")
    check("my cases")
    page.click("text=Alex Testfamily")
    assert "Alex Testfamily" in page.locator("h1").inner_text()
    check("case")

    page.click("text=Record a contact")
    check("contact form")
    page.click("button:has-text('Record the contact')")  # nothing filled in
    assert page.locator(".govuk-error-summary").is_visible()
    # without script, as GOV.UK Frontend's would: the summary has the focus, to be read first
    # (the browser applies autofocus a moment after the page loads: wait for it, 5 s at most)
    page.wait_for_function(
        "document.activeElement.classList.contains('govuk-error-summary')", timeout=5000
    )
    page.click(".govuk-error-summary a[href='#happened_at-day']")
    assert page.evaluate("document.activeElement.id") == "happened_at-day"
    check("contact form, with errors")
    page.check("text=Went with the family to a Children's Hearing")
    when = datetime.now(UK) - timedelta(minutes=5)
    page.fill("#happened_at-day", str(when.day))
    page.fill("#happened_at-month", str(when.month))
    page.fill("#happened_at-year", str(when.year))
    page.fill("#happened_at-time", f"{when:%H:%M}")
    page.fill("#duration_minutes", "90")
    page.check("label:has-text('Bereavement')")
    page.fill("#notes", "Went to the hearing together; the children were reassured.")
    page.click("button:has-text('Record the contact')")
    timeline = page.locator(".moj-timeline__title").all_inner_texts()
    assert [t.strip() for t in timeline].count("Contact") == 1

    page.click("text=Record needs")
    check("needs form")
    page.check("label:has-text('Housing')")
    page.click("button:has-text('Record needs')")
    assert "Needs recorded" in page.locator(".moj-timeline").inner_text()
    page.click("text=Decline")
    check("decline form")
    page.click("text=Back to the case")

    page.click("text=Signpost to a service")
    page.select_option("#need", "bereavement")
    page.select_option("#area", "GLASGOW_CITY")
    page.click("button:has-text('Search')")
    check("signpost form")
    options = page.locator("#service_id, [name=service_id]").all()
    labels = [page.locator(f"label[for='{o.get_attribute('id')}']").inner_text() for o in options]
    assert labels[0].startswith("Bereavement support, Glasgow")  # the family's own area first
    assert labels[1].startswith("Cruse bereavement helpline")
    page.check("label:has-text('Cruse bereavement helpline')")
    page.check("text=By telephone")
    page.click("button:has-text('Signpost')")
    assert "Cruse bereavement helpline" in page.locator("table").last.inner_text()

    page.click("text=Close the case")
    check("close form")
    page.check("text=Needs met")
    page.fill("#outcome_for_referrer", "Supported through the hearing; now with Cruse.")
    page.click("button:has-text('Close the case')")
    assert "Closed" in page.locator("h1").inner_text()
    check("case, closed")
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "case-page.png"), full_page=True)

    case = site["casework"].cases.get(site["case_id"])
    assert case["status"] == "closed"
    assert [signpost["service_id"] for signpost in case["signposts"]] == [CRUSE_ID]
    assert {name: problems for name, problems in checked.items() if problems} == {}
    assert len(checked) == 18
