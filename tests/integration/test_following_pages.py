"""Following referrals on the web, against the real database: an organisation's users see
its referrals alone, newest first and by status, each with what became of it; they
withdraw one with a reason, once; a wrong answer changes nothing."""

from __future__ import annotations

import html
import re
import time
import uuid

import pytest

from backbone import mongo, outbox
from backbone.clock import now
from backbone.events.catalogue import event_type as event_type_of
from backbone.events.envelope import decode, encode, new_event
from backbone.events.referral import ReferralSchema
from services.referral.handlers import handlers
from tests.factories import referral
from tests.integration.partner_site import BASE, browser, partner_with_users, token

GLASGOW_USER = "alex.lifecoach@glasgow.example"
LEEDS_USER = "sam.officer@leeds.example"


@pytest.fixture
def site(referral_app, referral_db):
    glasgow = partner_with_users(
        referral_app,
        "Routes out of Prison Glasgow",
        (GLASGOW_USER, "Alex Lifecoach", "referrer"),
    )
    leeds = partner_with_users(
        referral_app,
        "Leeds Family Contact",
        (LEEDS_USER, "Sam Officer", "referrer"),
    )
    return {"app": referral_app, "db": referral_db, "glasgow": glasgow, "leeds": leeds}


def refer(site, partner: str, n: int = 0, **changes) -> str:
    """A referral `partner` sent through intake, as its API would: its id."""
    body = referral(n, **changes)
    loaded = ReferralSchema().load(body)
    record = site["app"].extensions["intake"].receive(site[partner]["partner"], loaded, body)
    time.sleep(0.002)  # the next one is received a moment later: newest first is decidable
    return record["_id"]


def follow_case(site, referral_id: str, event_type: str, **data) -> None:
    """Apply a case event to intake as its worker does: decoded, in a transaction."""
    common = {"case_id": "c-" + referral_id, "referral_id": referral_id, "by": "coordinator-1"}
    source = event_type_of(event_type).source
    envelope = new_event(
        event_type, source, "c-" + referral_id, {**common, "at": now().isoformat(), **data}
    )
    event = decode(encode(envelope))
    handle = handlers(site["app"].extensions["intake"].referrals)[event_type]
    mongo.in_transaction(site["db"], lambda session: handle(event, session))


def opened(site, referral_id: str) -> None:
    follow_case(
        site,
        referral_id,
        "CaseOpened",
        partner_id=site["glasgow"]["partner"]["_id"],
        referring_team="GLASGOW",
        local_authority="GLASGOW_CITY",
        needs=["bereavement"],
    )


def text(response) -> str:
    """A page's words, without its markup, spaces run together."""
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(body).split())


def listed_ids(response) -> list[str]:
    return re.findall(r'href="/referrals/([0-9a-f-]{36})"', response.get_data(as_text=True))


def stored_and_waiting(site, referral_id: str) -> tuple[dict, int]:
    """The stored referral and the number of events waiting in intake's outbox."""
    record = site["db"].referrals.find_one({"_id": referral_id})
    return record, outbox.backlog([site["db"].referrals]).events


# ---- the list ------------------------------------------------------------------------


def test_the_list_shows_the_organisations_referrals_alone_newest_first(site):
    first = refer(site, "glasgow", 1)
    leeds_own = refer(site, "leeds", 2, family_member__name="Robin Otherpartner")
    second = refer(site, "glasgow", 3)

    page = browser(site["app"], GLASGOW_USER).get(f"{BASE}/referrals")

    assert page.status_code == 200
    assert listed_ids(page) == [second, first]
    words = text(page)
    assert "Jordan Example 3" in words and "Jordan Example 1" in words
    assert "Robin Otherpartner" not in words and leeds_own not in page.get_data(as_text=True)
    assert "2 referrals" in words
    leeds_page = browser(site["app"], LEEDS_USER).get(f"{BASE}/referrals")
    assert listed_ids(leeds_page) == [leeds_own]


def test_each_row_shows_the_family_member_the_date_referred_and_the_status(site):
    referral_id = refer(site, "glasgow", 1, referred_on="2026-03-12")

    page = browser(site["app"], GLASGOW_USER).get(f"{BASE}/referrals")

    row = re.search(
        r"<tr class=\"govuk-table__row\">\s*<td.*?</tr>", page.get_data(as_text=True), re.S
    )
    cells = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row.group(0))).split())
    assert cells == f"{referral_id} Jordan Example 1 12 March 2026 Received"


def test_the_list_filters_by_status(site):
    waiting = refer(site, "glasgow", 1)
    accepted = refer(site, "glasgow", 2)
    opened(site, accepted)
    client = browser(site["app"], GLASGOW_USER)

    assert listed_ids(client.get(f"{BASE}/referrals?status=accepted")) == [accepted]
    assert listed_ids(client.get(f"{BASE}/referrals?status=received")) == [waiting]
    assert listed_ids(client.get(f"{BASE}/referrals?status=")) == [accepted, waiting]
    closed = client.get(f"{BASE}/referrals?status=closed")
    assert listed_ids(closed) == []
    assert "None of your organisation's referrals is closed." in text(closed)
    chosen = re.search(
        r'<option value="accepted"[^>]*>',
        client.get(f"{BASE}/referrals?status=accepted").get_data(as_text=True),
    )
    assert "selected" in chosen.group(0)  # the filter shows what it filters by


def test_a_status_changed_by_hand_in_the_address_is_an_error_on_the_filter(site):
    refer(site, "glasgow", 1)

    page = browser(site["app"], GLASGOW_USER).get(f"{BASE}/referrals?status=lost")

    assert page.status_code == 400
    words = text(page)
    assert "There is a problem" in words
    assert 'href="#status"' in page.get_data(as_text=True)
    assert words.count("Select a status from the list.") == 2  # the summary and the field
    assert listed_ids(page) == []  # no list, which would look filtered when it is not


@pytest.mark.parametrize("number", ["0", "two", "10001", "2"])
def test_a_page_number_that_does_not_exist_is_not_found(site, number):
    refer(site, "glasgow", 1)

    page = browser(site["app"], GLASGOW_USER).get(f"{BASE}/referrals?page={number}")

    assert page.status_code == 404
    assert "Page not found" in text(page)


def test_the_list_comes_a_page_at_a_time_keeping_the_filter(site):
    made = [refer(site, "glasgow", n) for n in range(1, 23)]  # 22: a page of 20, then 2
    client = browser(site["app"], GLASGOW_USER)

    first = client.get(f"{BASE}/referrals?status=received")
    assert listed_ids(first) == made[::-1][:20]
    assert "Page 1 of 2" in text(first)
    assert 'href="/referrals?status=received&amp;page=2" rel="next"' in first.get_data(as_text=True)
    second = client.get(f"{BASE}/referrals?status=received&page=2")
    assert listed_ids(second) == made[::-1][20:]
    assert 'rel="prev"' in second.get_data(as_text=True)


def test_a_possible_duplicate_is_tagged_in_the_list(site):
    earlier = refer(site, "glasgow", 1)
    again = refer(site, "glasgow", 1)  # the same family member again

    page = browser(site["app"], GLASGOW_USER).get(f"{BASE}/referrals")

    rows = re.findall(
        r"<tr class=\"govuk-table__row\">\s*<td.*?</tr>", page.get_data(as_text=True), re.S
    )
    flagged = {listed_ids_in(row)[0]: "Possible duplicate" in row for row in rows}
    assert flagged == {again: True, earlier: False}


def listed_ids_in(fragment: str) -> list[str]:
    return re.findall(r'href="/referrals/([0-9a-f-]{36})"', fragment)


# ---- one referral --------------------------------------------------------------------


def test_another_organisations_referral_or_an_unknown_one_is_not_found(site):
    leeds_own = refer(site, "leeds", 1)
    client = browser(site["app"], GLASGOW_USER)

    for address in [f"/referrals/{leeds_own}", f"/referrals/{uuid.uuid4()}"]:
        page = client.get(f"{BASE}{address}")
        assert page.status_code == 404
        assert "Page not found" in text(page)
        assert "Jordan Example" not in text(page)
    assert browser(site["app"], LEEDS_USER).get(f"{BASE}/referrals/{leeds_own}").status_code == 200


def test_a_referral_shows_what_was_sent(site):
    referral_id = refer(site, "glasgow", 0, referred_on="2026-03-12")

    page = browser(site["app"], GLASGOW_USER).get(f"{BASE}/referrals/{referral_id}")

    assert page.status_code == 200
    words = text(page)
    for shown in [
        "Jordan Example",
        "Date of birth 12 April 1986",
        "Relationship to the person in custody Partner or spouse",
        "Telephone 0141 496 0123",
        "Area Glasgow City",
        "Safe contact notes Call after 6pm; do not leave messages.",
        "Establishment HMP Barlinnie",
        "Ages 4, 9",
        "Referred on 12 March 2026",
        "Why referred Struggling since the sentence; the children ask where their dad is.",
        "Consent to share with other agencies No",
        "Name Morgan Testperson",
    ]:
        assert shown in words
    assert page.get_data(as_text=True).count('class="govuk-summary-list"') == 6


def test_the_timeline_tells_of_acceptance_allocation_and_the_decline_in_the_referrers_words(
    site,
):
    referral_id = refer(site, "glasgow", 1)
    opened(site, referral_id)
    follow_case(site, referral_id, "CaseAllocated", coordinator_id="k1", reassigned=False)
    follow_case(
        site,
        referral_id,
        "CaseDeclined",
        reason_for_referrer="The family lives outside the area we cover; try Families Outside.",
    )

    page = browser(site["app"], GLASGOW_USER).get(f"{BASE}/referrals/{referral_id}")

    titles = re.findall(
        r'<h3 class="govuk-heading-s govuk-!-margin-bottom-1">([^<]+)</h3>',
        page.get_data(as_text=True),
    )
    assert titles == ["Declined", "Allocated to a coordinator", "Accepted", "Received"]
    words = text(page)
    assert "Declined " in words
    assert "The family lives outside the area we cover; try Families Outside." in words
    assert "Withdraw this referral" not in words  # declined: past withdrawing


def test_the_timeline_tells_of_the_close_in_the_referrers_words_in_uk_time(site):
    referral_id = refer(site, "glasgow", 1)
    opened(site, referral_id)
    follow_case(
        site,
        referral_id,
        "CaseClosed",
        outcomes=["needs_met"],
        outcome_for_referrer="Supported through the hearing; now with Cruse.",
        at="2026-07-01T13:05:00+00:00",  # 2:05pm in British Summer Time
    )

    page = browser(site["app"], GLASGOW_USER).get(f"{BASE}/referrals/{referral_id}")

    words = text(page)
    assert "Closed 1 July 2026, 2:05pm Supported through the hearing; now with Cruse." in words
    assert '<time datetime="2026-07-01T13:05:00+00:00">' in page.get_data(as_text=True)


def test_a_possible_duplicate_warns_and_links_to_the_earlier_referral(site):
    earlier = refer(site, "glasgow", 1)
    again = refer(site, "glasgow", 1)
    client = browser(site["app"], GLASGOW_USER)

    page = client.get(f"{BASE}/referrals/{again}")

    assert "This may be a referral you made before" in text(page)
    assert f'href="/referrals/{earlier}"' in page.get_data(as_text=True)
    assert "referral you made before" not in text(client.get(f"{BASE}/referrals/{earlier}"))


def test_another_organisations_referral_of_the_same_person_is_no_duplicate_of_ours(site):
    refer(site, "leeds", 1)
    ours = refer(site, "glasgow", 1)

    page = browser(site["app"], GLASGOW_USER).get(f"{BASE}/referrals/{ours}")

    assert "referral you made before" not in text(page)


# ---- withdrawing ---------------------------------------------------------------------


def withdraw(client, referral_id: str, **answers: str):
    """Send the withdraw form as a browser would, with the form's own CSRF token."""
    form = client.get(f"{BASE}/referrals/{referral_id}/withdraw")
    return client.post(
        f"{BASE}/referrals/{referral_id}/withdraw",
        data={**answers, "csrf_token": token(form.get_data(as_text=True))},
    )


def test_a_referral_is_withdrawn_with_a_reason_once(site):
    referral_id = refer(site, "glasgow", 1)
    opened(site, referral_id)
    client = browser(site["app"], GLASGOW_USER)
    assert "Withdraw this referral" in text(client.get(f"{BASE}/referrals/{referral_id}"))
    _, waiting = stored_and_waiting(site, referral_id)

    sent = withdraw(client, referral_id, reason="family_changed_mind", details="They moved away.")

    assert sent.status_code == 302
    assert sent.headers["Location"] == f"/referrals/{referral_id}"
    page = client.get(BASE + sent.headers["Location"])
    words = text(page)
    assert "Success Referral withdrawn. The coordinator has been told." in words
    assert "Withdrawn " in words and "by Alex Lifecoach" in words
    assert "The family changed their mind. They moved away." in words
    assert "Withdraw this referral" not in words
    assert "Referral withdrawn" not in text(client.get(f"{BASE}/referrals/{referral_id}"))
    record, now_waiting = stored_and_waiting(site, referral_id)
    assert record["status"] == "withdrawn"
    assert now_waiting == waiting + 1
    event = record["outbox"][-1]
    assert event["type"] == "ReferralWithdrawn"
    assert event["data"]["reason"] == "family_changed_mind"
    assert event["data"]["details"] == "They moved away."
    assert event["data"]["withdrawn_by"] == {"kind": "user", "name": "Alex Lifecoach"}

    again = client.post(
        f"{BASE}/referrals/{referral_id}/withdraw",
        data={"reason": "sent_by_mistake", "csrf_token": token(page.get_data(as_text=True))},
    )
    assert again.status_code == 409
    assert "You cannot withdraw this referral" in text(again)
    assert "This referral has already been withdrawn." in text(again)
    assert stored_and_waiting(site, referral_id) == (record, now_waiting)
    assert client.get(f"{BASE}/referrals?status=withdrawn").status_code == 200
    assert listed_ids(client.get(f"{BASE}/referrals?status=withdrawn")) == [referral_id]


def test_another_reason_is_withdrawn_with_its_details(site):
    referral_id = refer(site, "glasgow", 1)
    client = browser(site["app"], GLASGOW_USER)

    sent = withdraw(client, referral_id, reason="other", details="Another service took it on.")

    assert sent.status_code == 302
    assert "Another reason. Another service took it on." in text(
        client.get(f"{BASE}/referrals/{referral_id}")
    )


@pytest.mark.parametrize(
    ("answers", "field", "message"),
    [
        ({}, "reason", "Select why the referral is being withdrawn."),
        ({"reason": "bored"}, "reason", "Select why the referral is being withdrawn."),
        (
            {"reason": "other", "details": "   "},
            "details",
            "Enter why the referral is being withdrawn.",
        ),
        (
            {"reason": "sent_by_mistake", "details": "x" * 1001},
            "details",
            "Details must be 1000 characters or fewer.",
        ),
    ],
)
def test_a_wrong_answer_is_shown_on_its_field_and_changes_nothing(site, answers, field, message):
    referral_id = refer(site, "glasgow", 1)
    client = browser(site["app"], GLASGOW_USER)
    before = stored_and_waiting(site, referral_id)

    page = withdraw(client, referral_id, **answers)

    assert page.status_code == 400
    words = text(page)
    assert words.startswith("Error: Withdraw the referral")  # the title says so first
    assert "There is a problem" in words
    assert f'href="#{field}"' in page.get_data(as_text=True)
    assert words.count(message) == 2  # in the summary, and on the answer
    assert stored_and_waiting(site, referral_id) == before
    if "details" in answers and answers["details"].strip():
        assert answers["details"] in page.get_data(as_text=True)  # kept to correct


def test_a_withdrawal_without_the_forms_token_changes_nothing(site):
    referral_id = refer(site, "glasgow", 1)
    client = browser(site["app"], GLASGOW_USER)
    before = stored_and_waiting(site, referral_id)

    refused = client.post(
        f"{BASE}/referrals/{referral_id}/withdraw", data={"reason": "sent_by_mistake"}
    )

    assert refused.status_code == 400
    assert "This form has expired" in text(refused)
    assert stored_and_waiting(site, referral_id) == before


def test_another_organisations_referral_cannot_be_withdrawn(site):
    leeds_own = refer(site, "leeds", 1)
    client = browser(site["app"], GLASGOW_USER)
    before = stored_and_waiting(site, leeds_own)
    own_form = client.get(f"{BASE}/referrals")  # a token of Glasgow's own session

    assert client.get(f"{BASE}/referrals/{leeds_own}/withdraw").status_code == 404
    refused = client.post(
        f"{BASE}/referrals/{leeds_own}/withdraw",
        data={"reason": "sent_by_mistake", "csrf_token": token(own_form.get_data(as_text=True))},
    )

    assert refused.status_code == 404
    assert "Page not found" in text(refused)
    assert stored_and_waiting(site, leeds_own) == before


def test_a_declined_referral_cannot_be_withdrawn(site):
    referral_id = refer(site, "glasgow", 1)
    follow_case(site, referral_id, "CaseDeclined", reason_for_referrer="Outside our area.")
    client = browser(site["app"], GLASGOW_USER)
    before = stored_and_waiting(site, referral_id)

    assert "Withdraw this referral" not in text(client.get(f"{BASE}/referrals/{referral_id}"))
    form = client.get(f"{BASE}/referrals/{referral_id}/withdraw")
    assert form.status_code == 409
    assert "It has been declined, so it cannot be withdrawn." in text(form)
    refused = client.post(
        f"{BASE}/referrals/{referral_id}/withdraw",
        data={"reason": "sent_by_mistake", "csrf_token": token(form.get_data(as_text=True))},
    )
    assert refused.status_code == 409
    assert "This referral was declined, so it can no longer be withdrawn." in text(refused)
    assert stored_and_waiting(site, referral_id) == before
