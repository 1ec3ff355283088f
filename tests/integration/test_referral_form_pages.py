"""The referral form's pages against the real database and broker: a family referred
through the pages is the same ReferralReceived as through the API; mistakes are shown and
change nothing; drafts are their owner's alone, and go after 7 days."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest

from backbone import outbox
from backbone.clock import UK, now
from services.referral.referral_form import check_referral
from tests.browser.referral_form_steps import ANSWERS, PAGE_ORDER
from tests.integration.conftest import error_summary
from tests.integration.partner_site import BASE, PASSWORD, browser, partner_with_users, token

REFERRER = ("morgan.lifecoach@glasgow.example", "Morgan Lifecoach", "referrer")


@pytest.fixture
def site(referral_app):
    """Two organisations: Glasgow (with an API key too) with two users, and Leeds."""
    partners, users = referral_app.extensions["partners"], referral_app.extensions["partner_users"]
    glasgow, key = partners.create("Routes out of Prison Glasgow")
    for email, name, role in [
        REFERRER,
        ("casey.officer@glasgow.example", "Casey Officer", "referrer"),
    ]:
        users.create_user(glasgow["_id"], email, name, role, PASSWORD)
    partner_with_users(
        referral_app,
        "Leeds Family Contact",
        ("sam.officer@leeds.example", "Sam Officer", "referrer"),
    )
    return {
        "app": referral_app,
        "key": key,
        "db": referral_app.extensions["drafts"].collection.database,
    }


class Referrer:
    """A signed-in user going through the form with the Flask test client."""

    def __init__(self, app, email: str) -> None:
        self.client = browser(app, email)
        self.csrf = token(self.client.get(f"{BASE}/referrals/new").get_data(as_text=True))

    def start(self) -> str:
        answer = self.client.post(f"{BASE}/drafts", data={"csrf_token": self.csrf})
        assert answer.status_code == 302
        assert answer.headers["Location"].endswith("/consent")
        return answer.headers["Location"].split("/")[-2]

    def post(self, path: str, data: dict | None = None):
        return self.client.post(f"{BASE}{path}", data={**(data or {}), "csrf_token": self.csrf})

    def answer(self, draft_id: str, slug: str, data: dict | None = None, change: bool = False):
        query = "?change=yes" if change else ""
        return self.post(
            f"/drafts/{draft_id}/{slug}{query}", ANSWERS[slug] if data is None else data
        )

    def answer_every_page(self, draft_id: str) -> None:
        for slug in PAGE_ORDER:
            assert self.answer(draft_id, slug).status_code == 302, slug

    def send(self, draft_id: str) -> str:
        """Accept and send: the referral's id, from the confirmation's address."""
        answer = self.post(f"/drafts/{draft_id}/check-answers")
        assert answer.status_code == 302, answer.get_data(as_text=True)
        assert answer.headers["Location"].endswith("/sent")
        return answer.headers["Location"].split("/")[-2]


def the_same_referral_as_the_api_takes_it() -> dict:
    """What a partner's own system would post for the family of ANSWERS."""
    return {
        "referrer": {
            "team": "GLASGOW",
            "role": "prison_life_coach",
            "name": "Morgan Lifecoach",
            "organisation": "Routes out of Prison Glasgow",
            "email": "morgan.lifecoach@glasgow.example",
        },
        "family_member": {
            "name": "Jordan Example",
            "date_of_birth": "1986-04-12",
            "relationship_to_person_in_custody": "partner",
            "contact": {"phone": "0141 496 0123", "postcode": "G2 1AA"},
            "local_authority": "GLASGOW_CITY",
            "preferred_contact_method": "telephone",
            "safe_contact_notes": "Call after 6pm; do not leave messages.",
        },
        "person_in_custody": {
            "status": "sentenced",
            "establishment": "BARLINNIE",
            "expected_release_date": "2027-06-30",
        },
        "children": {
            "number": 2,
            "ages": [4, 9],
            "care_arrangement": "with_family",
            "child_protection_involvement": False,
        },
        "needs": ["coping_with_imprisonment_or_release", "children_and_parenting"],
        "urgency": "routine",
        "reason": "Struggling since the sentence; the children ask where their dad is.",
        "consent": {
            "referral": True,
            "share_with_agencies": False,
            "recorded_on": "2026-01-05",
            "recorded_by": "Morgan Lifecoach",
        },
    }


def summary(page: str) -> list[str]:
    """The error summary's messages, as people read them."""
    return [html.unescape(message) for message in error_summary(page)]


def stored(db) -> tuple[int, int]:
    """(referrals stored, events waiting in the outbox)."""
    return db.referrals.count_documents({}), outbox.backlog([db.referrals]).events


def test_a_referral_through_the_pages_is_announced_as_the_same_referral_through_the_api(
    site, publish, published_about
):
    morgan = Referrer(site["app"], REFERRER[0])
    draft_id = morgan.start()
    morgan.answer_every_page(draft_id)
    check = morgan.client.get(f"{BASE}/drafts/{draft_id}/check-answers").get_data(as_text=True)
    assert "Jordan Example" in check and "HMP Barlinnie" in check and "12 April 1986" in check
    assert "Coping with imprisonment or release<br>Children and parenting" in check

    form_id = morgan.send(draft_id)
    confirmation = morgan.client.get(f"{BASE}/referrals/{form_id}/sent").get_data(as_text=True)
    assert "Referral sent" in confirmation and form_id in confirmation
    api = (
        site["app"]
        .test_client()
        .post(
            "/v1/referrals",
            json=the_same_referral_as_the_api_takes_it(),
            headers={"Authorization": f"Bearer {site['key']}"},
        )
    )
    assert api.status_code == 201, api.get_json()
    api_id = api.get_json()["id"]

    publish("referral")
    _, [by_form] = published_about("referral", form_id, 1)
    _, [by_api] = published_about("referral", api_id, 1)
    assert by_form.type == by_api.type == "ReferralReceived"
    assert by_api.data["possible_duplicate_of"] == [form_id]  # intake sees the same family
    assert by_form.data["possible_duplicate_of"] == []
    differ = {"referral_id", "received_at", "possible_duplicate_of"}
    assert {k: v for k, v in by_form.data.items() if k not in differ} == {
        k: v for k, v in by_api.data.items() if k not in differ
    }
    assert site["app"].extensions["drafts"].collection.find_one({"_id": draft_id})["answers"] == {
        "referrer": {"team": "GLASGOW", "role": "prison_life_coach"}
    }  # the family's answers are deleted once sent


# A mistake on each page: (page, the posted fields, the element the summary links to, words).
MISTAKES = [
    ("consent", {**ANSWERS["consent"], "consent_given": "no"}, "consent_given",
     "The family member must consent to the referral before it is made."),
    ("consent", {**ANSWERS["consent"], "consent_date-month": "13"}, "consent_date-day",
     "The date they agreed must be a real date, like 27 3 2026"),
    ("about-you", {"team": "GLASGOW"}, "role", "Select your role"),
    ("family-member", {**ANSWERS["family-member"], "full_name": "  "}, "full_name",
     "Enter the family member's full name"),
    ("family-member", {**ANSWERS["family-member"], "date_of_birth-year": "2090"},
     "date_of_birth-day", "Date of birth cannot be in the future."),
    ("contact", {**ANSWERS["contact"], "phone": ""}, "phone",
     "Give the family member's phone to contact them by telephone."),
    ("contact", {**ANSWERS["contact"], "email": "not an address"}, "email",
     "Enter an email address in the correct format, like name@example.com"),
    ("person-in-custody", {**ANSWERS["person-in-custody"], "establishment": ""}, "establishment",
     "Select the prison"),
    ("children", {**ANSWERS["children"], "children_ages": "4, 9, 11"}, "children_ages",
     "Give no more ages than there are children."),
    ("needs", {}, "needs", "Identify at least one need."),
    ("why-now", {"urgency": "routine", "reason": ""}, "reason",
     "Enter why you are referring the family now"),
]  # fmt: skip


def test_a_mistake_on_any_page_is_shown_on_it_and_changes_nothing(site):
    morgan = Referrer(site["app"], REFERRER[0])
    draft_id = morgan.start()
    drafts = site["app"].extensions["drafts"].collection
    for slug in PAGE_ORDER:
        for mistake_slug, posted, anchor, words in MISTAKES:
            if mistake_slug != slug:
                continue
            before = drafts.find_one({"_id": draft_id})
            answer = morgan.answer(draft_id, slug, posted)
            assert answer.status_code == 422, (slug, anchor)
            page = answer.get_data(as_text=True)
            assert summary(page) == [words]  # linking to an element of the page
            assert f'href="#{anchor}"' in page
            assert f'id="{anchor}"' in page and "govuk-error-message" in page
            assert drafts.find_one({"_id": draft_id}) == before  # nothing saved
        assert morgan.answer(draft_id, slug).status_code == 302
    # An answered page changed for the worse keeps the answers it had.
    before = drafts.find_one({"_id": draft_id})
    wrong = {**ANSWERS["family-member"], "relationship": "stranger"}
    answer = morgan.answer(draft_id, "family-member", wrong, change=True)
    assert answer.status_code == 422
    assert summary(answer.get_data(as_text=True)) == [
        "Select their relationship to the person in custody"
    ]
    assert drafts.find_one({"_id": draft_id}) == before
    assert stored(site["db"]) == (0, 0)  # no referral, nothing to publish


def test_an_answer_changed_from_check_your_answers_returns_there(site):
    morgan = Referrer(site["app"], REFERRER[0])
    draft_id = morgan.start()
    morgan.answer_every_page(draft_id)
    check = morgan.client.get(f"{BASE}/drafts/{draft_id}/check-answers").get_data(as_text=True)
    change = f"/drafts/{draft_id}/children?change=yes#children_number"
    assert f'href="{change}"' in check

    page = morgan.client.get(f"{BASE}{change}").get_data(as_text=True)
    assert f'href="/drafts/{draft_id}/check-answers"' in page  # Back goes to the check
    assert 'value="4, 9"' in page  # the answers so far
    one_child = {**ANSWERS["children"], "children_number": "1", "children_ages": "4"}
    answer = morgan.answer(draft_id, "children", one_child, change=True)
    assert answer.headers["Location"] == f"/drafts/{draft_id}/check-answers"
    referral_id = morgan.send(draft_id)
    record = (
        site["app"]
        .extensions["intake"]
        .referral({"_id": site["db"].referrals.find_one()["partner_id"]}, referral_id)
    )
    assert record["referral"]["children"]["number"] == 1
    assert record["referral"]["children"]["ages"] == [4]


def test_answers_are_shown_as_typed_never_as_markup(site):
    morgan = Referrer(site["app"], REFERRER[0])
    draft_id = morgan.start()
    morgan.answer_every_page(draft_id)
    notes = {**ANSWERS["contact"], "safe_contact_notes": "<b>Evenings</b>\nNo messages"}
    morgan.answer(draft_id, "contact", notes, change=True)
    check = morgan.client.get(f"{BASE}/drafts/{draft_id}/check-answers").get_data(as_text=True)
    assert "&lt;b&gt;Evenings&lt;/b&gt;<br>No messages" in check
    assert "<b>Evenings" not in check


def test_an_answer_gone_stale_is_named_on_check_your_answers_and_nothing_is_sent(site):
    morgan = Referrer(site["app"], REFERRER[0])
    draft_id = morgan.start()
    morgan.answer_every_page(draft_id)
    drafts = site["app"].extensions["drafts"].collection
    # As if the date had been typed on a day when it was in the past (clocks, imports).
    later = (now() + timedelta(days=3)).astimezone(UK).date().isoformat()
    drafts.update_one({"_id": draft_id}, {"$set": {"answers.family_member.date_of_birth": later}})

    answer = morgan.post(f"/drafts/{draft_id}/check-answers")
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert summary(page) == ["Date of birth cannot be in the future."]
    assert 'href="#change-date_of_birth"' in page
    assert stored(site["db"]) == (0, 0)
    assert "referral_id" not in drafts.find_one({"_id": draft_id})


def test_pages_not_answered_are_asked_before_check_your_answers(site):
    morgan = Referrer(site["app"], REFERRER[0])
    draft_id = morgan.start()
    for slug in PAGE_ORDER[:3]:
        morgan.answer(draft_id, slug)
    for method in ("get", "post"):
        answer = getattr(morgan.client, method)(
            f"{BASE}/drafts/{draft_id}/check-answers", data={"csrf_token": morgan.csrf}
        )
        assert answer.headers["Location"] == f"/drafts/{draft_id}/contact"
    assert stored(site["db"]) == (0, 0)


def test_a_draft_is_only_its_owners(site):
    morgan = Referrer(site["app"], REFERRER[0])
    draft_id = morgan.start()
    morgan.answer_every_page(draft_id)
    listed = morgan.client.get(f"{BASE}/drafts").get_data(as_text=True)
    assert "Jordan Example" in listed
    assert f"{(now() + timedelta(days=7)).astimezone(UK):%-d %B %Y} at" in listed  # deleted on

    for other in ("casey.officer@glasgow.example", "sam.officer@leeds.example"):
        them = Referrer(site["app"], other)
        assert "Jordan Example" not in them.client.get(f"{BASE}/drafts").get_data(as_text=True)
        assert them.client.get(f"{BASE}/drafts/{draft_id}/consent").status_code == 404
        assert them.client.get(f"{BASE}/drafts/{draft_id}/check-answers").status_code == 404
        assert them.answer(draft_id, "needs").status_code == 404
        assert them.post(f"/drafts/{draft_id}/check-answers").status_code == 404
        assert them.client.get(f"{BASE}/drafts/{draft_id}/delete").status_code == 404
        assert them.post(f"/drafts/{draft_id}/delete").status_code == 404
    assert stored(site["db"]) == (0, 0)
    referral_id = morgan.send(draft_id)

    # Casey, of the same organisation, may see the referral; Leeds may not.
    casey = Referrer(site["app"], "casey.officer@glasgow.example")
    assert casey.client.get(f"{BASE}/referrals/{referral_id}/sent").status_code == 200
    sam = Referrer(site["app"], "sam.officer@leeds.example")
    assert sam.client.get(f"{BASE}/referrals/{referral_id}/sent").status_code == 404


def test_a_draft_is_deleted_7_days_after_it_was_last_saved(site):
    morgan = Referrer(site["app"], REFERRER[0])
    draft_id = morgan.start()
    morgan.answer(draft_id, "consent")
    drafts = site["app"].extensions["drafts"].collection
    saved = drafts.find_one({"_id": draft_id})
    assert saved["expires_at"] - saved["saved_at"] == timedelta(days=7)
    assert saved["expires_at"] > now() + timedelta(days=7) - timedelta(minutes=1)
    ttl = [i for i in drafts.list_indexes() if i.get("expireAfterSeconds") is not None]
    assert [(dict(i["key"]), i["expireAfterSeconds"]) for i in ttl] == [({"expires_at": 1}, 0)]

    # Seven days and a second later (the database has not got round to deleting it yet):
    a_week = timedelta(days=7, seconds=1)
    drafts.update_one(
        {"_id": draft_id},
        {
            "$set": {
                "saved_at": saved["saved_at"] - a_week,
                "expires_at": saved["expires_at"] - a_week,
            }
        },
    )
    assert "You have no drafts." in morgan.client.get(f"{BASE}/drafts").get_data(as_text=True)
    assert morgan.client.get(f"{BASE}/drafts/{draft_id}/consent").status_code == 404
    assert morgan.answer(draft_id, "about-you").status_code == 404


def test_a_visitor_not_signed_in_is_sent_to_sign_in_and_a_user_may_delete_their_draft(site):
    assert browser(site["app"], None).get(f"{BASE}/referrals/new").status_code == 302
    morgan = Referrer(site["app"], REFERRER[0])
    draft_id = morgan.start()
    morgan.answer(draft_id, "consent")
    # The drafts page links to a page that asks first; that page deletes nothing.
    listed = morgan.client.get(f"{BASE}/drafts").get_data(as_text=True)
    assert f'href="/drafts/{draft_id}/delete"' in listed
    asked = morgan.client.get(f"{BASE}/drafts/{draft_id}/delete").get_data(as_text=True)
    assert "Are you sure you want to delete the draft referral of" in asked
    assert site["app"].extensions["drafts"].collection.count_documents({}) == 1
    assert morgan.post(f"/drafts/{draft_id}/delete").headers["Location"] == "/drafts"
    assert site["app"].extensions["drafts"].collection.count_documents({}) == 0
    after = morgan.client.get(f"{BASE}/drafts").get_data(as_text=True)
    assert "The draft is deleted." in after and "You have no drafts." in after
    assert morgan.client.get(f"{BASE}/drafts/{draft_id}/about-you").status_code == 404


def test_pressing_send_twice_makes_one_referral(site):
    morgan = Referrer(site["app"], REFERRER[0])
    draft_id = morgan.start()
    morgan.answer_every_page(draft_id)
    first = morgan.send(draft_id)
    assert morgan.send(draft_id) == first
    assert stored(site["db"]) == (1, 1)
    # Once sent, it is no draft to delete: the receipt that answers a second Send stays.
    assert morgan.client.get(f"{BASE}/drafts/{draft_id}/delete").status_code == 404
    assert morgan.post(f"/drafts/{draft_id}/delete").status_code == 404
    assert morgan.send(draft_id) == first


def stored_but_not_marked_sent(site, draft_id: str) -> dict:
    """What a send cut short leaves: the referral stored (the draft's id its
    Idempotency-Key), the draft not yet marked sent."""
    draft = site["app"].extensions["drafts"].collection.find_one({"_id": draft_id})
    loaded, _ = check_referral(draft["answers"])
    partner = {"_id": draft["partner_id"], "name": "Routes out of Prison Glasgow"}
    return site["app"].extensions["intake"].receive(partner, loaded, draft["answers"], draft_id)


def test_a_send_cut_short_after_the_referral_was_stored_makes_no_second_one(site):
    """The draft's id is the Idempotency-Key: if the first send stored the referral but
    never marked the draft sent, sending again answers with the same referral."""
    morgan = Referrer(site["app"], REFERRER[0])
    draft_id = morgan.start()
    morgan.answer_every_page(draft_id)
    earlier = stored_but_not_marked_sent(site, draft_id)

    assert morgan.send(draft_id) == earlier["_id"]
    assert stored(site["db"]) == (1, 1)


def test_a_send_cut_short_then_changed_is_not_sent_twice(site):
    morgan = Referrer(site["app"], REFERRER[0])
    draft_id = morgan.start()
    morgan.answer_every_page(draft_id)
    stored_but_not_marked_sent(site, draft_id)
    morgan.answer(draft_id, "why-now", {"urgency": "urgent", "reason": "Worse."}, change=True)

    answer = morgan.post(f"/drafts/{draft_id}/check-answers")
    assert answer.status_code == 422
    assert summary(answer.get_data(as_text=True))[0].startswith("This referral was already sent")
    assert stored(site["db"]) == (1, 1)


def test_the_next_referral_starts_with_the_users_team_and_role(site):
    morgan = Referrer(site["app"], REFERRER[0])
    first = morgan.start()
    morgan.answer_every_page(first)
    morgan.send(first)
    second = morgan.start()
    page = morgan.client.get(f"{BASE}/drafts/{second}/about-you").get_data(as_text=True)
    assert 'value="GLASGOW" checked' in page and 'value="prison_life_coach" checked' in page
    casey = Referrer(site["app"], "casey.officer@glasgow.example")
    theirs = casey.start()
    page = casey.client.get(f"{BASE}/drafts/{theirs}/about-you").get_data(as_text=True)
    assert "checked" not in page
