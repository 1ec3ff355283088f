"""Casework's web pages against the real database: signing in, the permission matrix for
each role and page, CSRF, and forms that refuse bad input with the GOV.UK error summary."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from openapi_spec_validator import validate

from backbone.clock import UK
from backbone.pages import CONTENT_SECURITY_POLICY
from tests.casework_staff import BASE, new_client, sign_in, staff_member
from tests.integration.conftest import error_summary
from tests.integration.partner_site import token
from tests.integration.test_casework_api import a_referral, deliver, state

DATE_MESSAGE = "Enter a real date and a time, like 27 3 2026 and 14:30."


@pytest.fixture
def site(casework_app, casework):
    manager = staff_member(casework.staff, "morgan", "Morgan Manager", "manager")
    casey = staff_member(casework.staff, "casey", "Casey Coordinator", "coordinator")
    staff_member(casework.staff, "robin", "Robin Coordinator", "coordinator")
    referral = a_referral()
    deliver(casework.cases, "ReferralReceived", referral["referral_id"], referral)
    case = casework.cases.cases.find_one({"referral_id": referral["referral_id"]})
    casework.allocate(manager, case["_id"], casey["_id"])
    return {"app": casework_app, "case_id": case["_id"]}


def browser(site, username: str | None):
    """A test client signed in as `username`, with the password and the app's code (or
    not signed in at all)."""
    client = new_client(site["app"])
    if username:
        sign_in(client, site["app"].extensions["casework"].staff, username)
    return client


def test_signing_in_sets_a_secure_session_cookie_and_pages_have_security_headers(site, casework):
    client = new_client(site["app"])
    page = client.get(f"{BASE}/sign-in").get_data(as_text=True)
    wrong = client.post(
        f"{BASE}/sign-in", data={"username": "casey", "password": "nope", "csrf_token": token(page)}
    )
    assert wrong.status_code == 401
    assert error_summary(wrong.get_data(as_text=True)) == ["Enter a correct username and password"]
    sign_in(client, casework.staff, "casey")
    cookie = client.get_cookie("familyties_casework", domain="casework.example")
    assert cookie.secure and cookie.http_only and cookie.same_site == "Lax"
    cases = client.get(f"{BASE}/cases")
    assert cases.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert cases.headers["X-Frame-Options"] == "DENY"
    assert cases.headers["Cache-Control"] == "no-store"
    client.post(f"{BASE}/sign-out", data={"csrf_token": token(cases.get_data(as_text=True))})
    assert client.get(f"{BASE}/cases").status_code == 302  # signed out


@pytest.mark.parametrize(
    ("who", "page", "expected"),
    [
        (None, "/cases", 302),
        (None, "/cases/{case}", 302),
        (None, "/cases/{case}/contact", 302),
        ("casey", "/cases", 200),
        ("casey", "/cases/{case}", 200),
        ("casey", "/cases/{case}/contact", 200),
        ("casey", "/cases/{case}/needs", 200),
        ("casey", "/cases/{case}/signpost", 200),
        ("casey", "/cases/{case}/close", 200),
        ("casey", "/cases/{case}/decline", 200),
        ("casey", "/cases/{case}/allocate", 403),
        ("casey", "/cases/{case}/audit", 403),
        ("robin", "/cases", 200),
        ("robin", "/cases/{case}", 404),
        ("robin", "/cases/{case}/contact", 404),
        ("robin", "/cases/{case}/close", 404),
        ("robin", "/cases/{case}/allocate", 403),
        ("robin", "/cases/{case}/audit", 403),
        ("morgan", "/cases", 200),
        ("morgan", "/cases/{case}", 200),
        ("morgan", "/cases/{case}/allocate", 200),
        ("morgan", "/cases/{case}/audit", 200),
        ("morgan", "/cases/{case}/contact", 200),
        ("casey", "/cases/{case}/nonsense", 404),
    ],
)
def test_the_permission_matrix_of_the_pages(site, who, page, expected):
    client = browser(site, who)
    response = client.get(BASE + page.format(case=site["case_id"]))
    assert response.status_code == expected
    if expected == 302:
        assert response.headers["Location"].endswith("/sign-in")


def valid_forms() -> dict[str, dict[str, str]]:
    """A valid submission of each form: a refusal is then about who sends it."""
    today = datetime.now(UK) - timedelta(minutes=5)
    return {
        "contact": {
            "method": "telephone",
            "happened_at-day": str(today.day),
            "happened_at-month": str(today.month),
            "happened_at-year": str(today.year),
            "happened_at-time": f"{today:%H:%M}",
            "duration_minutes": "20",
        },
        "needs": {"identified": "housing"},
        "decline": {"reason_for_referrer": "Outside the areas we cover."},
        "close": {"outcomes": "needs_met", "outcome_for_referrer": "Done."},
        "support": {"ongoing": "true"},
    }


def test_another_coordinators_case_by_url_changes_nothing(site, casework):
    robin = browser(site, "robin")
    own_page = robin.get(f"{BASE}/cases").get_data(as_text=True)
    before = state(casework, site["case_id"])
    for form, data in valid_forms().items():
        response = robin.post(
            f"{BASE}/cases/{site['case_id']}/{form}", data={**data, "csrf_token": token(own_page)}
        )
        assert response.status_code == 404, form
    for path in ["reopen", "signposts/any/outcome", "allocate"]:
        response = robin.post(
            f"{BASE}/cases/{site['case_id']}/{path}",
            data={"outcome": "engaged", "csrf_token": token(own_page)},
        )
        assert response.status_code in (403, 404), path
    assert state(casework, site["case_id"]) == before


@pytest.mark.parametrize("who", ["casey", "morgan"])
@pytest.mark.parametrize("form", ["contact", "needs", "decline", "close", "support"])
def test_the_coordinator_and_a_manager_may_change_the_case(site, casework, who, form):
    client = browser(site, who)
    page = client.get(f"{BASE}/cases/{site['case_id']}").get_data(as_text=True)
    response = client.post(
        f"{BASE}/cases/{site['case_id']}/{form}",
        data={**valid_forms()[form], "csrf_token": token(page)},
    )
    assert response.status_code == 302, error_summary(response.get_data(as_text=True))
    assert casework.cases.get(site["case_id"])["version"] > 2


def test_signing_out_ends_the_session_even_for_a_copy_of_its_cookie(site):
    casey = browser(site, "casey")
    copy = site["app"].test_client()
    copy.environ_base["HTTP_REFERER"] = f"{BASE}/"
    cookie = casey.get_cookie("familyties_casework", domain="casework.example")
    copy.set_cookie("familyties_casework", cookie.value, domain="casework.example", secure=True)
    assert copy.get(f"{BASE}/cases").status_code == 200
    page = casey.get(f"{BASE}/cases").get_data(as_text=True)
    casey.post(f"{BASE}/sign-out", data={"csrf_token": token(page)})
    assert copy.get(f"{BASE}/cases").status_code == 302  # the copied cookie is dead too


def test_a_revoked_account_is_signed_out(site, casework):
    casey = browser(site, "casey")
    account = casework.staff.collection.find_one({"username": "casey"})
    casework.staff.revoke(account["_id"])
    assert casey.get(f"{BASE}/cases").status_code == 302


def test_a_bad_signpost_outcome_is_refused_on_the_case_page(site, casework):
    casey = browser(site, "casey")
    page = casey.get(f"{BASE}/cases/{site['case_id']}").get_data(as_text=True)
    before = state(casework, site["case_id"])
    for outcome in ["delighted", ""]:
        response = casey.post(
            f"{BASE}/cases/{site['case_id']}/signposts/none/outcome",
            data={"outcome": outcome, "csrf_token": token(page)},
        )
        assert response.status_code == 422
        assert error_summary(response.get_data(as_text=True))
    assert state(casework, site["case_id"])[:2] == before[:2]


def test_a_forged_csrf_token_is_refused_and_changes_nothing(site, casework):
    casey = browser(site, "casey")
    before = state(casework, site["case_id"])
    for token_sent in ["forged", None]:
        data = {"ongoing": "true", **({"csrf_token": token_sent} if token_sent else {})}
        response = casey.post(f"{BASE}/cases/{site['case_id']}/support", data=data)
        assert response.status_code == 400
        assert "This form has expired" in response.get_data(as_text=True)
    assert state(casework, site["case_id"]) == before


@pytest.mark.parametrize(
    ("form", "data", "expected"),
    [
        (
            "contact",
            {
                "method": "telephone",
                "happened_at-day": "1",
                "happened_at-month": "1",
                "happened_at-year": "2099",
                "happened_at-time": "10:00",
                "duration_minutes": "20",
            },
            ["A contact cannot be in the future."],
        ),
        (
            "contact",
            {
                "method": "telephone",
                "happened_at-day": "31",
                "happened_at-month": "2",
                "happened_at-year": "2026",
                "happened_at-time": "10:00",
                "duration_minutes": "20",
            },
            [DATE_MESSAGE],
        ),
        (
            "contact",
            {
                "method": "telephone",
                "happened_at-day": "1",
                "happened_at-month": "1",
                "happened_at-year": "3000000000",
                "happened_at-time": "10:00",
                "duration_minutes": "20",
            },
            [DATE_MESSAGE],
        ),
        (
            "signpost",
            {"service_id": "no-such-service", "method": "letter", "personal_details_shared": "no"},
            ["No current directory service has this id."],
        ),
        ("close", {"outcome_for_referrer": "Done."}, ["Choose at least one outcome."]),
    ],
)
def test_a_bad_form_shows_the_gov_uk_error_summary_and_changes_nothing(
    site, casework, form, data, expected
):
    casey = browser(site, "casey")
    page = casey.get(f"{BASE}/cases/{site['case_id']}/{form}").get_data(as_text=True)
    before = state(casework, site["case_id"])
    response = casey.post(
        f"{BASE}/cases/{site['case_id']}/{form}", data={**data, "csrf_token": token(page)}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_summary(html) == expected
    assert "<title>Error: " in html
    assert state(casework, site["case_id"]) == (*before[:2], before[2] + 1)  # the read only


def test_closing_a_closed_case_from_its_page_is_refused(site, casework):
    casey = browser(site, "casey")
    page = casey.get(f"{BASE}/cases/{site['case_id']}/close").get_data(as_text=True)
    close = {"outcomes": "needs_met", "outcome_for_referrer": "Done.", "csrf_token": token(page)}
    assert casey.post(f"{BASE}/cases/{site['case_id']}/close", data=close).status_code == 302
    again = casey.post(f"{BASE}/cases/{site['case_id']}/close", data=close)
    assert again.status_code == 422
    assert error_summary(again.get_data(as_text=True)) == ["This case is closed: reopen it first."]


def test_without_consent_the_signpost_page_says_no_details_go_to_the_agency(site, casework):
    case = casework.cases.get(site["case_id"])
    casework.cases.cases.update_one(
        {"_id": case["_id"]}, {"$set": {"referral.consent.share_with_agencies": False}}
    )
    html = browser(site, "casey").get(f"{BASE}/cases/{site['case_id']}/signpost")
    text = html.get_data(as_text=True)
    assert "has not consented to share their details" in text
    assert 'name="personal_details_shared"' not in text  # nothing to tick


def test_the_openapi_document_of_the_json_api_is_valid(site):
    document = site["app"].test_client().get("/openapi.json").get_json()
    validate(document)
    assert "/v1/cases/{case_id}/signposts" in document["paths"]
    assert "/cases" not in document["paths"]  # the pages are not part of the API


def test_every_file_the_stylesheets_ask_for_is_served(site):
    client = browser(site, "casey")
    page = client.get(f"{BASE}/cases/{site['case_id']}").get_data(as_text=True)
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    wanted = {
        url
        for sheet in sheets
        for url in re.findall(r"url\((/[^)#?]+)", client.get(sheet).get_data(as_text=True))
    }
    assert any("/fonts/" in url for url in wanted)  # GOV.UK Frontend's own typeface
    assert {url: client.get(url).status_code for url in wanted} == dict.fromkeys(wanted, 200)
