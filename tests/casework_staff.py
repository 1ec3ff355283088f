"""Casework's staff in the tests of its pages. Every staff member signs in with a password
and then an authenticator app's code (services/casework/app.py), so a test makes them
with `staff_member`, whose app has a known secret, and signs them in with `sign_in` (a
Flask test client) or `sign_in_page` (Chromium), which give the app's code.

The server takes each code once, and the codes of the 30-second steps just before and
after its own: `AuthenticatorApp.code` gives the next code not yet used, waiting for the
next step only if this one and the next are used already."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pyotp
from playwright.sync_api import Page

from services.casework.staff import Staff
from tests.integration.partner_site import post_form

PASSWORD = "correct horse battery"
BASE = "https://casework.example"


@dataclass
class AuthenticatorApp:
    """The app on a staff member's phone, remembering the last code it gave, and the
    recovery codes they were shown."""

    secret: str
    recovery_codes: list[str]
    last_step: int = -1

    def code(self) -> str:
        while True:
            now = int(time.time() // 30)
            step = max(now, self.last_step + 1)
            if step <= now + 1:
                self.last_step = step
                return pyotp.TOTP(self.secret).generate_otp(step)
            time.sleep(1)


# Each staff member's app, by account id (ids are never reused, so tests cannot mix).
APPS: dict[str, AuthenticatorApp] = {}


def staff_member(staff: Staff, username: str, name: str, role: str, **fields: Any) -> dict:
    """A new account (password PASSWORD) whose authenticator app is set up (in `APPS`)."""
    account, _ = staff.create_account(username, name, role, PASSWORD, **fields)
    secret = pyotp.random_base32()
    codes = staff.second_factors.set_up(account["_id"], secret)
    APPS[account["_id"]] = AuthenticatorApp(secret, codes)
    return account


def app_of(staff: Staff, username: str) -> AuthenticatorApp:
    return APPS[staff.collection.find_one({"username": username})["_id"]]


def new_client(app, base: str = BASE):
    """A test client sending what a browser sends over HTTPS: cookies and a same-origin
    Referer."""
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = f"{base}/"
    return client


def sign_in(client, staff: Staff, username: str, base: str = BASE) -> None:
    """Sign `client` in as `username`: the password, then the app's code."""
    password = {"username": username, "password": PASSWORD}
    response = post_form(client, "/sign-in", password, base=base)
    assert response.headers.get("Location", "").endswith("/sign-in/second-factor"), response
    code = {"code": app_of(staff, username).code()}
    response = post_form(client, "/sign-in/second-factor", code, base=base)
    assert response.status_code == 302, response.get_data(as_text=True)


def sign_in_page(page: Page, url: str, staff: Staff, username: str) -> None:
    """Sign in as `username` in Chromium, at casework's pages at `url`."""
    page.goto(f"{url}/sign-in")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.fill("#code", app_of(staff, username).code())
    page.click("button:has-text('Continue')")
