"""Notifications' pages in Debian's Chromium (Playwright): a manager asks for a sign-in
link, follows it from the email the local mail server caught, sees a failed webhook,
chooses a digest, and previews a template, whose email is shown in a frame under the
pages' own Content-Security-Policy. Every page is checked with axe-core."""

from __future__ import annotations

import dataclasses
import re

import pytest
from playwright.sync_api import sync_playwright

from services.notifications.app import create_app
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, accessibility_problems, served
from tests.integration.test_notifications_pages import MANAGER, failed_message, keep

LINK = re.compile(r"https?://\S+/sign-in/[A-Za-z0-9_-]+")


@pytest.fixture
def site(settings, mail):
    app = create_app(dataclasses.replace(settings, smtp_port=mail.smtp_port))
    store = app.extensions["store"]
    keep(store, MANAGER, ["manager"])
    store.add_messages([failed_message()])
    with served(app) as url:
        yield {"url": url, "store": store}


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_a_manager_signs_in_by_email_sees_failures_and_chooses_a_digest(site, mail, browser):
    # axe-core is injected by the test; the pages themselves allow no script at all
    page = browser.new_context(bypass_csp=True).new_page()
    checked: dict[str, list[str]] = {}

    def check(name: str) -> None:
        checked[name] = accessibility_problems(page)

    page.goto(f"{site['url']}/messages")
    assert page.url.endswith("/sign-in")  # signed out, sent to sign in
    check("sign in")
    page.fill("#email", "not an address")
    page.click("button:has-text('Email me a link')")
    assert page.locator(".govuk-error-summary").is_visible()
    check("sign in, with an error")
    page.fill("#email", MANAGER["email"])
    page.click("button:has-text('Email me a link')")
    assert page.locator("h1").inner_text() == "Check your email"
    check("check your email")

    (email,) = mail.wait_for(1)
    # The link names this server as the app builds its public address; follow its path.
    link = LINK.search(email["text"]).group(0)
    page.goto(site["url"] + link[link.index("/sign-in/") :])
    check("use the link")
    page.click("button:has-text('Sign in to Family Ties notifications')")
    assert page.locator("h1").inner_text() == "Messages and failures"
    failed = page.get_by_role("table", name="Failed")
    assert "gave up after 3 days: HTTP 503" in failed.inner_text()
    check("messages and failures")

    page.click("text=Your notifications")
    page.check("#new_referral-2")  # the second choice: a daily digest
    page.check("#waiting_summary-3")  # none
    page.click("button:has-text('Save your choices')")
    assert "Your choices are saved" in page.inner_text("main")
    assert page.is_checked("#new_referral-2") and page.is_checked("#waiting_summary-3")
    check("preferences")
    chosen = site["store"].staff_member(MANAGER["staff_id"])["preferences"]
    assert chosen == {"new_referral": "digest", "waiting_summary": "none"}

    page.click("text=Message templates")
    check("templates")
    page.click("text=A new referral is waiting")
    check("template preview")
    assert checked == {name: [] for name in checked}


def test_a_template_preview_shows_the_email_as_designed_under_the_pages_policy(site, mail, browser):
    page = browser.new_context().new_page()  # the pages' own policy, as people get it
    page.goto(f"{site['url']}/sign-in")
    page.fill("#email", MANAGER["email"])
    page.click("button:has-text('Email me a link')")
    link = LINK.search(mail.wait_for(1)[0]["text"]).group(0)
    page.goto(site["url"] + link[link.index("/sign-in/") :])
    page.click("button:has-text('Sign in to Family Ties notifications')")

    page.goto(f"{site['url']}/templates/new_referral")
    email = page.frame_locator("iframe.ft-email-preview")
    paragraph = email.locator("p", has_text="is waiting to be given to a coordinator")
    assert paragraph.is_visible()
    # Its inline styles apply inside the frame; the frame runs no script.
    assert "Helvetica" in paragraph.evaluate("p => getComputedStyle(p).fontFamily")
    assert page.locator("pre").inner_text().startswith("This referral is marked urgent.")
