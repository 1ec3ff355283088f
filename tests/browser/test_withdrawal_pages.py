"""A withdrawn referral in Debian's Chromium (Playwright): the coordinator's case page says
who withdrew it and why, and offers no reopening; the close form offers no "withdrawn";
reporting's withdrawals page counts it. Every page is checked with axe-core and kept as
a screenshot."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import Page

from backbone import mongo
from backbone.clock import now, today
from services.casework.app import create_app as create_casework_app
from services.reporting.app import create_app as create_reporting_app
from services.reporting.repository import BulkApplier, ReportingView
from services.reporting.viewers import Viewers
from tests.browser.chromium import (
    ARTEFACTS,
    accessibility_problems,
    served,
)
from tests.casework_staff import PASSWORD, sign_in_page, staff_member
from tests.integration.test_casework_api import a_referral, deliver
from tests.unit.reporting_events import case_event, referral_received, referral_withdrawn


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")


def check(page: Page, name: str) -> list[str]:
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)
    return accessibility_problems(page)


def test_the_coordinator_sees_the_withdrawal_on_the_case_page(settings, page):
    app = create_casework_app(settings)
    casework = app.extensions["casework"]
    manager = staff_member(casework.staff, "morgan", "Morgan Manager", "manager")
    casey = staff_member(casework.staff, "casey", "Casey Coordinator", "coordinator")
    cases = {}
    for name in ("Alex Testfamily", "Sam Otherfamily"):
        referral = a_referral()
        referral["family_member"]["name"] = name
        deliver(casework.cases, "ReferralReceived", referral["referral_id"], referral)
        case = casework.cases.cases.find_one({"referral_id": referral["referral_id"]})
        casework.allocate(manager, case["_id"], casey["_id"])
        cases[name] = (case["_id"], referral)
    _, referral = cases["Alex Testfamily"]
    withdrawal = {
        "referral_id": referral["referral_id"],
        "partner_id": referral["partner_id"],
        "reason": "other",
        "details": "The family moved to Orkney.",
        "withdrawn_by": {"kind": "user", "name": "Morgan Testperson"},
        "at": now().isoformat(),
    }
    deliver(casework.cases, "ReferralWithdrawn", referral["referral_id"], withdrawal)

    problems = {}
    with served(app) as url:
        sign_in_page(page, url, casework.staff, "casey")
        page.click("text=Alex Testfamily")
        assert "Closed" in page.locator("h1").inner_text()
        inset = page.locator("#withdrawal").inner_text()
        assert "Withdrawn by the referrer" in inset
        assert "Morgan Testperson withdrew the referral on" in inset
        assert "Another reason" in inset and "The family moved to Orkney." in inset
        titles = [t.strip() for t in page.locator(".moj-timeline__title").all_inner_texts()]
        assert titles[:2] == ["Closed", "Referral withdrawn"]  # newest first
        assert page.locator("button:has-text('Reopen the case')").count() == 0
        assert "Nothing more: the referrer withdrew this referral" in page.inner_text("main")
        problems["withdrawn case"] = check(page, "withdrawn-case-page")

        page.goto(f"{url}/cases/{cases['Sam Otherfamily'][0]}/close")
        outcomes = page.locator("label").all_inner_texts()
        assert "Needs met" in [o.strip() for o in outcomes]
        assert not any("withdrawn" in o.lower() for o in outcomes)
    assert {name: found for name, found in problems.items() if found} == {}


def test_reporting_shows_the_withdrawals_by_month_team_and_reason(settings, page):
    app = create_reporting_app(settings)
    db = mongo.database(settings, "reporting")
    Viewers(db).create_account("frances", "Frances Funder", "funder", PASSWORD)
    on = today()
    first = date(on.year, on.month, 1)
    applier = BulkApplier(ReportingView(db).current())
    applier.add(
        [
            referral_received("r1", team="GLASGOW", referred_on=first),
            referral_received("r2", team="GLASGOW", referred_on=first),
            referral_received("r3", team="LANARKSHIRE", referred_on=first),
            referral_withdrawn("r1", first, reason="sent_by_mistake"),
            referral_withdrawn("r3", first, reason="family_changed_mind"),
            case_event(
                "CaseClosed",
                "r1",
                first,
                outcomes=["withdrawn"],
                outcome_for_referrer="Withdrawn by the referrer: Sent by mistake.",
            ),
        ]
    )
    applier.flush()
    month = f"{on:%Y-%m}"

    with served(app) as url:
        sign_in(page, url, "frances")
        page.click("nav[aria-label='Reports'] >> text=Referrals withdrawn")
        page.fill("#from", month)
        page.fill("#to", month)
        page.click("button:has-text('Show')")
        assert page.locator("h1").inner_text() == "Referrals withdrawn"
        by_month = page.locator("table").filter(has_text="Referrals withdrawn by month")
        rows = {}
        for row in by_month.locator("tbody tr").all():
            label, *cells = [cell.strip() for cell in row.locator("th, td").all_inner_texts()]
            rows[label] = cells
        assert rows["Glasgow"] == ["1", "1"] and rows["Lanarkshire"] == ["1", "1"]
        assert rows["Total"] == ["2", "2"]
        reasons = page.locator("table").filter(has_text="Why referrals were withdrawn")
        assert "Sent by mistake" in reasons.inner_text()
        problems = check(page, "withdrawals-report")
    assert problems == []
