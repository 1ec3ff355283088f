"""Casework's web pages against the real database: signing in, the permission matrix for
each role and page, CSRF, and forms that refuse bad input with the GOV.UK error summary."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from services.casework.pages import CONTENT_SECURITY_POLICY
from tests.integration.test_casework_api import a_referral, deliver, state

BASE = "https://casework.example"
PASSWORD = "correct horse battery"
DATE_MESSAGE = "Enter a real date and a time, like 27 3 2026 and 14:30."


@pytest.fixture
def site(casework_app, casework):
    manager, _ = casework.staff.create_account("morgan", "Morgan Manager", "manager", PASSWORD)
    casey, _ = casework.staff.create_account("casey", "Casey Coordinator", "coordinator",
                                             PASSWORD)  # fmt: skip
    casework.staff.create_account("robin", "Robin Coordinator", "coordinator", PASSWORD)
    referral = a_referral()
    deliver(casework.cases, "ReferralReceived", referral["referral_id"], referral)
    case = casework.cases.cases.find_one({"referral_id": referral["referral_id"]})
    casework.allocate(manager, case["_id"], casey["_id"])
    return {"app": casework_app, "case_id": case["_id"]}


def browser(site, username: str | None):
    """A test client signed in as `username` (or not at all), sending what a browser
    sends over HTTPS: cookies and a same-origin Referer."""
    client = site["app"].test_client()
    client.environ_base["HTTP_REFERER"] = f"{BASE}/"
    if username:
        page = client.get(f"{BASE}/sign-in").get_data(as_text=True)
        answer = client.post(f"{BASE}/sign-in", data={"username": username, "password": PASSWORD,
                                                       "csrf_token": token(page)})  # fmt: skip
        assert answer.status_code == 302
    return client


def token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def error_summary(html: str) -> list[str]:
    return re.findall(r'<li><a href="#[^"]+">([^<]+)</a></li>', html)


def test_signing_in_sets_a_secure_session_cookie_and_pages_have_security_headers(site):
    client = site["app"].test_client()
    client.environ_base["HTTP_REFERER"] = f"{BASE}/"
    page = client.get(f"{BASE}/sign-in").get_data(as_text=True)
    wrong = client.post(f"{BASE}/sign-in", data={"username": "casey", "password": "nope",
                                                 "csrf_token": token(page)})  # fmt: skip
    assert wrong.status_code == 401
    assert error_summary(wrong.get_data(as_text=True)) == ["Enter a correct username and password"]
    right = client.post(f"{BASE}/sign-in", data={"username": "casey", "password": PASSWORD,
                                                 "csrf_token": token(page)})  # fmt: skip
    cookie = right.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    cases = client.get(f"{BASE}/cases")
    assert cases.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert cases.headers["X-Frame-Options"] == "DENY"
    assert cases.headers["Cache-Control"] == "no-store"
    client.post(f"{BASE}/sign-out", data={"csrf_token": token(cases.get_data(as_text=True))})
    assert client.get(f"{BASE}/cases").status_code == 302  # signed out


@pytest.mark.parametrize(
    ("who", "page", "expected"),
    [
        (None, "/cases", 302), (None, "/cases/{case}", 302), (None, "/cases/{case}/contact", 302),
        ("casey", "/cases", 200), ("casey", "/cases/{case}", 200),
        ("casey", "/cases/{case}/contact", 200), ("casey", "/cases/{case}/needs", 200),
        ("casey", "/cases/{case}/signpost", 200), ("casey", "/cases/{case}/close", 200),
        ("casey", "/cases/{case}/decline", 200), ("casey", "/cases/{case}/allocate", 403),
        ("casey", "/cases/{case}/audit", 403),
        ("robin", "/cases", 200), ("robin", "/cases/{case}", 404),
        ("robin", "/cases/{case}/contact", 404), ("robin", "/cases/{case}/close", 404),
        ("robin", "/cases/{case}/allocate", 403), ("robin", "/cases/{case}/audit", 403),
        ("morgan", "/cases", 200), ("morgan", "/cases/{case}", 200),
        ("morgan", "/cases/{case}/allocate", 200), ("morgan", "/cases/{case}/audit", 200),
        ("morgan", "/cases/{case}/contact", 200), ("casey", "/cases/{case}/nonsense", 404),
    ],
)  # fmt: skip
def test_the_permission_matrix_of_the_pages(site, who, page, expected):
    client = browser(site, who)
    answer = client.get(BASE + page.format(case=site["case_id"]))
    assert answer.status_code == expected
    if expected == 302:
        assert answer.headers["Location"].endswith("/sign-in")


def test_another_coordinators_case_by_url_changes_nothing(site, casework):
    robin = browser(site, "robin")
    own_page = robin.get(f"{BASE}/cases").get_data(as_text=True)
    before = state(casework, site["case_id"])
    for form, data in [("contact", {"method": "telephone"}), ("close", {"outcomes": "needs_met"}),
                       ("decline", {"reason_for_referrer": "x"})]:  # fmt: skip
        answer = robin.post(f"{BASE}/cases/{site['case_id']}/{form}",
                            data={**data, "csrf_token": token(own_page)})  # fmt: skip
        assert answer.status_code == 404, form
    answer = robin.post(f"{BASE}/cases/{site['case_id']}/support",
                        data={"ongoing": "true", "csrf_token": token(own_page)})  # fmt: skip
    assert answer.status_code == 404
    assert state(casework, site["case_id"]) == before


def test_a_forged_csrf_token_is_refused_and_changes_nothing(site, casework):
    casey = browser(site, "casey")
    before = state(casework, site["case_id"])
    for token_sent in ["forged", None]:
        data = {"ongoing": "true", **({"csrf_token": token_sent} if token_sent else {})}
        answer = casey.post(f"{BASE}/cases/{site['case_id']}/support", data=data)
        assert answer.status_code == 400
        assert "This form has expired" in answer.get_data(as_text=True)
    assert state(casework, site["case_id"]) == before


@pytest.mark.parametrize(
    ("form", "data", "expected"),
    [
        ("contact", {"method": "telephone", "happened_at-day": "1", "happened_at-month": "1",
                     "happened_at-year": "2099", "happened_at-time": "10:00",
                     "duration_minutes": "20"}, ["A contact cannot be in the future."]),
        ("contact", {"method": "telephone", "happened_at-day": "31", "happened_at-month": "2",
                     "happened_at-year": "2026", "happened_at-time": "10:00",
                     "duration_minutes": "20"}, [DATE_MESSAGE]),
        ("signpost", {"service_id": "no-such-service", "method": "letter",
                      "personal_details_shared": "no"},
         ["No current directory service has this id."]),
        ("close", {"outcome_for_referrer": "Done."}, ["Choose at least one outcome."]),
    ],
)  # fmt: skip
def test_a_bad_form_shows_the_gov_uk_error_summary_and_changes_nothing(
    site, casework, form, data, expected
):
    casey = browser(site, "casey")
    page = casey.get(f"{BASE}/cases/{site['case_id']}/{form}").get_data(as_text=True)
    before = state(casework, site["case_id"])
    answer = casey.post(f"{BASE}/cases/{site['case_id']}/{form}",
                        data={**data, "csrf_token": token(page)})  # fmt: skip
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
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
