"""Partner users' accounts in Debian's Chromium (Playwright): an administrator invites a
colleague (the mail server is down, so the page shows the link to pass on), the colleague
accepts, signs in, sets up an authenticator app from the key shown, signs out, and signs
in again with password and code. Every page is checked with axe-core, and the main ones
are kept as screenshots."""

from __future__ import annotations

import dataclasses

import pytest

from services.referral.app import create_app
from tests.browser.chromium import (
    ARTEFACTS,
    accessibility_problems,
    served,
)
from tests.integration.partner_site import PASSWORD, app_code, partner_with_users
from tests.servers import free_port

NEW_PASSWORD = "a long new password"


@pytest.fixture
def site(settings):
    # Nothing listens on the SMTP port: the invitation's page shows its link instead.
    app = create_app(dataclasses.replace(settings, smtp_port=free_port()))
    glasgow = partner_with_users(
        app,
        "Routes out of Prison Glasgow",
        ("ailsa.admin@glasgow.example", "Ailsa Admin", "admin"),
        ("alex.lifecoach@glasgow.example", "Alex Lifecoach", "referrer"),
    )
    with served(app) as url:
        yield {"url": url, "app": app, "glasgow": glasgow}


def test_a_colleague_is_invited_and_signs_in_with_an_authenticator_app(site, page):
    url = site["url"]
    checked: dict[str, list[str]] = {}

    def check(name: str, screenshot: bool = False) -> None:
        checked[name] = accessibility_problems(page)
        if screenshot:
            ARTEFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTEFACTS / f"partner-{name}.png"), full_page=True)

    def sign_in(email: str, password: str) -> None:
        page.fill("#username", email)
        page.fill("#password", password)
        page.click("button:has-text('Sign in')")

    def sign_out() -> None:
        page.click("button:has-text('Sign out')")
        assert page.url.endswith("/sign-in")

    # The administrator: their organisation's users, inviting, and the other pages.
    page.goto(f"{url}/account")
    assert page.url.endswith("/sign-in")
    check("sign-in")
    sign_in("ailsa.admin@glasgow.example", PASSWORD)
    page.click("text=Your account")
    check("account")
    page.get_by_role("link", name="Your organisation's users").click()
    assert page.locator("h1").inner_text() == "Your organisation's users"
    check("users", screenshot=True)
    page.click("text=Remove Alex Lifecoach")
    assert "Are you sure" in page.locator("h1").inner_text()
    check("remove")
    page.click("text=Cancel")
    page.click("a:has-text('Change')")
    check("require-second-factor")
    page.click("text=Cancel")
    page.click("text=Invite a colleague")
    page.click("button:has-text('Send the invitation')")  # nothing filled in
    assert page.locator(".govuk-error-summary").is_visible()
    check("invite-errors", screenshot=True)
    page.fill("#email", "jo.new@glasgow.example")
    page.fill("#name", "Jo New")
    page.check("#role")  # the first: referrer
    page.click("button:has-text('Send the invitation')")
    assert "could not be sent" in page.locator("h1").inner_text()
    check("invited-by-hand")
    shown = page.locator("#invitation-link").inner_text().strip()
    # On intake's public address (here its default local one, not this test's port).
    assert shown.startswith("http://127.0.0.1:") and "/invitations/" in shown
    link = url + "/invitations/" + shown.split("/invitations/")[1]
    sign_out()

    # The colleague accepts: a mistake first, then the account.
    page.goto(link)
    check("invitation")
    page.fill("#password", "too short")
    page.fill("#confirmation", "too short")
    page.click("button:has-text('Create your account')")
    assert page.locator("#password-error").is_visible()
    check("invitation-errors")
    page.fill("#password", NEW_PASSWORD)
    page.fill("#confirmation", NEW_PASSWORD)
    page.click("button:has-text('Create your account')")
    assert page.locator("h1").inner_text() == "Your account is ready"
    check("invitation-accepted")
    page.goto(link)
    assert page.locator("h1").inner_text() == "This invitation has been used"
    check("invitation-used")

    # They sign in and set up an authenticator app, typing the key (no camera here).
    page.goto(f"{url}/sign-in")
    sign_in("jo.new@glasgow.example", NEW_PASSWORD)
    page.click("text=Your account")
    page.click("text=Set up an authenticator app")
    assert page.locator("img.ft-qr-code").evaluate("image => image.naturalWidth") > 0
    page.click("text=I cannot scan the QR code")
    secret = page.locator("#secret").inner_text().replace(" ", "")
    check("set-up", screenshot=True)
    page.fill("#code", "000000")
    page.click("button:has-text('Continue')")
    assert page.locator("#code-error").is_visible()
    check("set-up-errors")
    page.fill("#code", app_code(secret))
    page.click("button:has-text('Continue')")
    assert page.locator("h1").inner_text() == "Your recovery codes"
    assert page.locator("#recovery-codes li").count() == 10
    check("recovery-codes", screenshot=True)
    page.click("text=I have kept my codes")
    sign_out()

    # Next time: password, then the app's code (the next one: each is accepted once).
    sign_in("jo.new@glasgow.example", NEW_PASSWORD)
    assert page.url.endswith("/sign-in/second-factor")
    check("second-factor", screenshot=True)
    page.fill("#code", app_code(secret, steps_ahead=1))
    page.click("button:has-text('Continue')")
    page.click("text=Your account")
    assert "On" in page.locator(".govuk-tag").inner_text()
    check("account-with-app")
    page.click("text=Make new recovery codes")
    check("new-recovery-codes")
    page.goto(f"{url}/account")
    page.click("text=Turn off your authenticator app")
    check("turn-off")

    assert checked == {name: [] for name in checked}
