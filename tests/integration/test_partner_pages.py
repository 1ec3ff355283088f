"""Partners' web pages against the real database: who sees what."""

from __future__ import annotations

import pytest

from tests.integration.partner_site import BASE, browser, partner_with_users


@pytest.fixture
def site(referral_app):
    glasgow = partner_with_users(
        referral_app,
        "Routes out of Prison Glasgow",
        ("alex.lifecoach@glasgow.example", "Alex Lifecoach", "referrer"),
    )
    leeds = partner_with_users(
        referral_app,
        "Leeds Family Contact",
        ("sam.officer@leeds.example", "Sam Officer", "referrer"),
    )
    return {"app": referral_app, "glasgow": glasgow, "leeds": leeds}


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(site):
    answer = browser(site["app"], None).get(f"{BASE}/referrals")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/sign-in")


def test_a_user_sees_their_organisations_name_once_signed_in(site):
    page = browser(site["app"], "alex.lifecoach@glasgow.example").get(f"{BASE}/referrals")
    assert page.status_code == 200
    assert "Routes out of Prison Glasgow" in page.get_data(as_text=True)


def test_a_user_whose_organisation_is_revoked_is_signed_out_at_once(site):
    client = browser(site["app"], "sam.officer@leeds.example")
    site["app"].extensions["partners"].revoke(site["leeds"]["partner"]["_id"])
    answer = client.get(f"{BASE}/referrals")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith("/sign-in")
