"""What the tests of partners' web pages share: two partner organisations with users, and
test clients signed in as one of them, sending what a browser sends over HTTPS."""

from __future__ import annotations

import re

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


def browser(app, email: str | None):
    """A test client signed in as `email` (or not at all)."""
    client = app.test_client()
    client.environ_base["HTTP_REFERER"] = f"{BASE}/"
    if email:
        page = client.get(f"{BASE}/sign-in").get_data(as_text=True)
        response = client.post(
            f"{BASE}/sign-in",
            data={"username": email, "password": PASSWORD, "csrf_token": token(page)},
        )
        assert response.status_code == 302, response.get_data(as_text=True)
    return client
