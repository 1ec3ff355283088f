"""A partner's user follows the organisation's referrals in Debian's Chromium (Playwright):
the list, filtered by status; a declined referral's timeline; a possible duplicate's
warning; withdrawing a referral, with a mistake first. Every page is checked with
axe-core; the list, the withdraw form with its errors and the withdrawn referral are kept
as screenshots."""

from __future__ import annotations

import time

import pytest

from backbone import mongo
from backbone.clock import now
from backbone.events.catalogue import event_type
from backbone.events.envelope import decode, encode, new_event
from backbone.events.referral import ReferralSchema
from services.referral.app import create_app
from services.referral.handlers import handlers
from tests.browser.chromium import (
    ARTEFACTS,
    accessibility_problems,
    served,
)
from tests.factories import referral
from tests.integration.partner_site import PASSWORD, partner_with_users

EMAIL = "alex.lifecoach@glasgow.example"
DECLINED_FOR_REFERRER = "The family lives outside the area we cover; Families Outside can help."


@pytest.fixture
def site(settings):
    """Intake's pages served over real HTTP; Glasgow's referrals: one declined, one sent
    twice (a possible duplicate), and one to withdraw."""
    app = create_app(settings)
    glasgow = partner_with_users(
        app, "Routes out of Prison Glasgow", (EMAIL, "Alex Lifecoach", "referrer")
    )
    intake = app.extensions["intake"]

    def refer(n: int, name: str) -> str:
        body = referral(n, family_member__name=name)
        made = intake.receive(glasgow["partner"], ReferralSchema().load(body), body)
        time.sleep(0.002)  # the next one is received a moment later: newest first is decidable
        return made["_id"]

    declined = refer(1, "Casey Declinedfamily")
    decline = {
        "case_id": "c1",
        "referral_id": declined,
        "by": "coordinator-1",
        "at": now().isoformat(),
        "reason_for_referrer": DECLINED_FOR_REFERRER,
    }
    event = decode(
        encode(new_event("CaseDeclined", event_type("CaseDeclined").source, "c1", decline))
    )
    handle = handlers(intake.referrals)["CaseDeclined"]
    mongo.in_transaction(mongo.database(settings, "referral"), lambda s: handle(event, s))
    refer(2, "Robin Twicereferred")
    duplicate = refer(2, "Robin Twicereferred")
    to_withdraw = refer(3, "Jamie Withdrawnfamily")
    with served(app) as url:
        yield {"url": url, "intake": intake, "ids": (declined, duplicate, to_withdraw)}


def test_a_referrer_follows_the_referrals_and_withdraws_one(site, page):
    declined, duplicate, to_withdraw = site["ids"]
    checked: dict[str, list[str]] = {}
    ARTEFACTS.mkdir(exist_ok=True)

    def check(name: str) -> None:
        checked[name] = accessibility_problems(page)

    page.goto(f"{site['url']}/referrals")
    page.fill("#username", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")

    assert page.locator("h1").inner_text() == "Your organisation's referrals"
    rows = page.locator("tbody tr").all_inner_texts()
    assert [row.split("\t")[1].strip() for row in rows] == [
        "Jamie Withdrawnfamily",
        "Robin Twicereferred",
        "Robin Twicereferred",
        "Casey Declinedfamily",
    ]  # newest first
    assert "Possible duplicate" in rows[1] and "Possible duplicate" not in rows[2]
    check("referrals")
    page.screenshot(path=str(ARTEFACTS / "following-referrals.png"), full_page=True)

    page.select_option("#status", "declined")
    page.click("button:has-text('Show referrals')")
    assert page.locator("tbody tr").count() == 1
    check("referrals, declined")
    page.click(f"text={declined}")
    assert "Casey Declinedfamily" in page.locator("h1").inner_text()
    assert DECLINED_FOR_REFERRER in page.inner_text("main")
    assert page.locator("text=Withdraw this referral").count() == 0
    check("referral, declined")

    page.goto(f"{site['url']}/referrals?status=lost")  # changed by hand in the address
    assert page.locator(".govuk-error-summary").is_visible()
    assert page.locator("#status-error").inner_text().endswith("Select a status from the list.")
    check("referrals, with an error")

    page.goto(f"{site['url']}/referrals/{duplicate}")
    assert (
        "This may be a referral you made before" in page.locator(".govuk-warning-text").inner_text()
    )
    check("referral, possible duplicate")

    page.goto(f"{site['url']}/referrals")
    page.click(f"text={to_withdraw}")
    page.click("text=Withdraw this referral")
    assert page.locator("h1").inner_text() == "Withdraw the referral"
    check("withdraw form")
    page.click("button:has-text('Withdraw the referral')")  # no reason chosen
    assert page.locator(".govuk-error-summary").is_visible()
    # without script, as GOV.UK Frontend's would: the summary has the focus, to be read first
    page.wait_for_function(
        "document.activeElement.classList.contains('govuk-error-summary')", timeout=5000
    )
    page.click(".govuk-error-summary a[href='#reason']")
    assert page.evaluate("document.activeElement.id") == "reason"
    check("withdraw form, with an error")
    page.screenshot(path=str(ARTEFACTS / "following-withdraw-error.png"), full_page=True)
    assert (
        site["intake"].referrals.collection.find_one({"_id": to_withdraw})["status"] == "received"
    )

    page.check("text=Sent by mistake")
    page.fill("#details", "Meant for another family.")
    page.click("button:has-text('Withdraw the referral')")
    banner = page.locator(".govuk-notification-banner--success")
    assert "Referral withdrawn" in banner.inner_text()
    assert "Withdrawn" in page.locator("h1").inner_text()
    assert "Sent by mistake. Meant for another family." in page.inner_text("main")
    assert page.locator("text=Withdraw this referral").count() == 0
    check("referral, withdrawn")
    page.screenshot(path=str(ARTEFACTS / "following-withdrawn.png"), full_page=True)

    assert (
        site["intake"].referrals.collection.find_one({"_id": to_withdraw})["status"] == "withdrawn"
    )
    assert {name: problems for name, problems in checked.items() if problems} == {}
    assert len(checked) == 8
