"""What the tests of partners' web pages share: two partner organisations with users, and
test clients signed in as one of them, sending what a browser sends over HTTPS.

A user with a second factor: `user_with_second_factor` gives one a known TOTP secret, and
`browser(app, email, secret)` signs in with the password and then the app's current code
(`app_code`). Each code is accepted once: to sign the same user in twice within one
30-second step, give the second sign-in `steps_ahead=1` (the server accepts the next
step's code too)."""

from __future__ import annotations

import re
import time

import pyotp

BASE = "https://referrals.example"
PASSWORD = "correct horse battery"


def token(html: str) -> str:
    """The CSRF token of a page's form."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def partner_with_users(app, name: str, *people: tuple[str, str, str]) -> dict:
    """A partner called `name` and its users, each (email, name, role): {partner, users}."""
    partner, _ = app.extensions["partners"].create(name)
    users = app.extensions["partner_users"]
    made = [users.create_user(partner["_id"], *person, PASSWORD) for person in people]
    return {"partner": partner, "users": made}


def user_with_second_factor(app, partner_id: str, email: str, name: str, role: str) -> dict:
    """A new user of the partner (password PASSWORD) whose authenticator app has a known
    secret: {user, secret, recovery_codes}."""
    users = app.extensions["partner_users"]
    user = users.create_user(partner_id, email, name, role, PASSWORD)
    secret = pyotp.random_base32()
    codes = users.second_factors.set_up(user["_id"], secret)
    return {"user": user, "secret": secret, "recovery_codes": codes}


def app_code(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app with `secret` shows now (or `steps_ahead` 30-second
    steps from now)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def secret_shown(html: str) -> str:
    """The secret the page for setting up an authenticator app shows, to type into one."""
    return re.search(r'id="secret"><code>([A-Z2-7 ]+)</code>', html).group(1).replace(" ", "")


def post_form(client, path: str, data: dict, page_path: str | None = None, base: str = BASE):
    """POST `data` to `path` with the CSRF token of the form at `page_path` (`path`'s own
    page unless given), as a browser submits a form it was shown, on the site at `base`."""
    page = client.get(f"{base}{page_path or path}").get_data(as_text=True)
    return client.post(f"{base}{path}", data={**data, "csrf_token": token(page)})


def browser(app, email: str | None, secret: str | None = None, steps_ahead: int = 0):
    """A test client signed in as `email` (or not at all); with `secret`, through the
    second factor, giving the app's code."""
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = f"{BASE}/"
    if email:
        response = post_form(client, "/sign-in", {"username": email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        if secret:
            assert response.headers["Location"].endswith("/sign-in/second-factor")
            code = app_code(secret, steps_ahead)
            response = post_form(client, "/sign-in/second-factor", {"code": code})
            assert response.status_code == 302, response.get_data(as_text=True)
        else:
            assert "second-factor" not in response.headers["Location"], "give its secret"
    return client
