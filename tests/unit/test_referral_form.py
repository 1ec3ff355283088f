"""The referral form's rules without I/O: posted fields shaped as the API's JSON, judged by
the API's schema, and its messages placed on the fields people answered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from backbone.clock import today
from services.referral import form_questions as questions
from services.referral import referral_form as form
from tests.browser.referral_form_steps import ANSWERS, PAGE_ORDER

USER = {
    "_id": "u1",
    "name": "Morgan Lifecoach",
    "username": "morgan.lifecoach@glasgow.example",
    "partner": {"_id": "p1", "name": "Routes out of Prison Glasgow"},
}


def posted(fields: dict) -> MultiDict:
    return MultiDict(
        [(k, item) for k, v in fields.items() for item in (v if isinstance(v, list) else [v])]
    )


def answered(*slugs: str, answers: dict | None = None) -> dict:
    """The draft's answers after `slugs` were answered with ANSWERS."""
    answers = answers or {}
    for slug in slugs:
        checked = form.check_page(questions.BY_SLUG[slug], answers, posted(ANSWERS[slug]), USER)
        assert checked.errors == {}, slug
        answers = checked.answers
    return answers


def errors_of(slug: str, fields: dict, answers: dict | None = None) -> dict[str, str]:
    checked = form.check_page(questions.BY_SLUG[slug], answers or {}, posted(fields), USER)
    assert checked.answers is None
    return checked.errors


def test_every_page_answered_makes_the_referral_the_api_takes():
    answers = answered(*PAGE_ORDER)
    assert [page.slug for page in questions.PAGES] == PAGE_ORDER
    assert answers["consent"] == {
        "referral": True,
        "share_with_agencies": False,
        "recorded_on": "2026-01-05",
        "recorded_by": "Morgan Lifecoach",
    }
    assert answers["referrer"] == {
        "team": "GLASGOW",
        "role": "prison_life_coach",
        "name": "Morgan Lifecoach",
        "email": "morgan.lifecoach@glasgow.example",
        "organisation": "Routes out of Prison Glasgow",
    }
    assert answers["family_member"]["date_of_birth"] == "1986-04-12"
    assert answers["family_member"]["contact"] == {"phone": "0141 496 0123", "postcode": "G2 1AA"}
    assert answers["children"] == {
        "number": 2,
        "ages": [4, 9],
        "care_arrangement": "with_family",
        "child_protection_involvement": False,
    }
    assert answers["needs"] == ["coping_with_imprisonment_or_release", "children_and_parenting"]
    loaded, problems = form.check_referral(answers)
    assert problems == []
    assert loaded["referred_on"] == today() and loaded["urgency"] == "routine"


def test_an_empty_page_names_each_answer_it_needs_in_the_pages_order():
    assert list(errors_of("consent", {})) == [
        "consent_given",
        "share_with_agencies",
        "consent_date",
    ]
    assert errors_of("about-you", {}) == {"team": "Select your team", "role": "Select your role"}
    assert list(errors_of("family-member", {})) == ["full_name", "relationship", "local_authority"]
    assert list(errors_of("contact", {})) == ["contact_method"]
    assert list(errors_of("person-in-custody", {})) == ["custody_status", "establishment"]
    assert list(errors_of("children", {})) == ["children_number", "child_protection"]
    assert errors_of("needs", {}) == {"needs": "Identify at least one need."}
    assert errors_of("why-now", {}) == {"reason": "Enter why you are referring the family now"}


def test_without_consent_there_is_no_referral():
    refused = errors_of("consent", {**ANSWERS["consent"], "consent_given": "no"})
    assert refused == {
        "consent_given": "The family member must consent to the referral before it is made."
    }


@pytest.mark.parametrize(
    ("day", "month", "year"),
    [("31", "2", "2026"), ("5", "", "2026"), ("5", "1", "26"), ("five", "1", "2026")],
)
def test_a_date_that_is_not_a_real_date_is_named_on_its_day_box(day, month, year):
    fields = {**ANSWERS["consent"], "consent_date-day": day}
    fields |= {"consent_date-month": month, "consent_date-year": year}
    errors = errors_of("consent", fields)
    assert errors == {"consent_date": "The date they agreed must be a real date, like 27 3 2026"}
    assert form.error_summary(questions.BY_SLUG["consent"], errors) == {
        "consent_date-day": "The date they agreed must be a real date, like 27 3 2026"
    }


def test_the_schemas_own_date_rules_apply():
    tomorrow = today() + timedelta(days=1)
    fields = {**ANSWERS["consent"], "consent_date-day": str(tomorrow.day)}
    fields |= {"consent_date-month": str(tomorrow.month), "consent_date-year": str(tomorrow.year)}
    assert errors_of("consent", fields) == {"consent_date": "Consent date cannot be in the future."}
    fields["consent_date-year"] = "1999"
    assert errors_of("consent", fields) == {
        "consent_date": "Consent date cannot be before 1 January 2000."
    }


def test_an_optional_date_left_blank_is_left_out():
    fields = {**ANSWERS["family-member"], "date_of_birth-day": ""}
    fields |= {"date_of_birth-month": "", "date_of_birth-year": ""}
    answers = form.check_page(questions.BY_SLUG["family-member"], {}, posted(fields), USER).answers
    assert "date_of_birth" not in answers["family_member"]


@pytest.mark.parametrize(
    ("method", "field"),
    [("telephone", "phone"), ("text", "phone"), ("email", "email"), ("letter", "postcode")],
)
def test_a_way_to_reach_them_by_their_preferred_method_is_asked_on_its_own_box(method, field):
    errors = errors_of("contact", {"contact_method": method}, answered("family-member"))
    assert list(errors) == [field]
    assert errors[field].startswith(f"Give the family member's {field}")


def test_do_not_contact_needs_no_contact_details():
    fields = {"contact_method": "do_not_contact", "safe_contact_notes": "Reach her through me."}
    checked = form.check_page(
        questions.BY_SLUG["contact"], answered("family-member"), posted(fields), USER
    )
    assert checked.errors == {}
    assert checked.answers["family_member"]["preferred_contact_method"] == "do_not_contact"
    assert checked.answers["family_member"]["name"] == "Jordan Example"  # page one's kept


def test_the_family_member_asked_over_two_pages_is_judged_whole():
    """Either page may come first; each keeps the other's answers, and clearing an answer
    on a page clears it from the draft."""
    contact_first = answered("contact", "family-member")
    assert contact_first["family_member"] == answered("family-member", "contact")["family_member"]
    by_email = {**ANSWERS["contact"], "contact_method": "email", "phone": ""}
    by_email["email"] = "jordan@example.org"
    checked = form.check_page(questions.BY_SLUG["contact"], contact_first, posted(by_email), USER)
    assert checked.answers["family_member"]["contact"] == {
        "email": "jordan@example.org",
        "postcode": "G2 1AA",
    }


def test_childrens_ages_and_numbers():
    assert errors_of("children", {**ANSWERS["children"], "children_ages": "4, 9, 11"}) == {
        "children_ages": "Give no more ages than there are children."
    }
    bad = {**ANSWERS["children"], "children_number": "two", "children_ages": "4, x"}
    assert errors_of("children", bad) == {
        "children_number": "Enter how many children there are as a whole number, like 2",
        "children_ages": "Enter each age as a whole number, separated by commas, like 4, 9",
    }
    assert errors_of("children", {**ANSWERS["children"], "children_ages": "4 19"}) == {
        "children_ages": "Must be greater than or equal to 0 and less than or equal to 17."
    }
    assert errors_of("children", {**ANSWERS["children"], "care_arrangement": ""}) == {
        "care_arrangement": "Say who the children are living with."
    }
    none = {"children_number": "0", "child_protection": "no"}
    answers = form.check_page(questions.BY_SLUG["children"], {}, posted(none), USER).answers
    assert answers["children"] == {"number": 0, "child_protection_involvement": False}


def test_a_choice_not_offered_is_refused_in_the_fields_words():
    assert errors_of("needs", {"needs": ["housing", "a pony"]}) == {
        "needs": "Select what the family needs help with"
    }
    assert errors_of("about-you", {"team": "ATLANTIS", "role": "other"}) == {
        "team": "Select your team"
    }
    assert errors_of("consent", {**ANSWERS["consent"], "share_with_agencies": "maybe"}) == {
        "share_with_agencies": "Select yes if they agreed their details may be shared with agencies"
    }


def test_a_schema_message_about_no_field_of_any_page_goes_on_the_pages_first_field():
    page = questions.BY_SLUG["about-you"]
    placed = list(form._placed(page, {"referrer": {"phone": ["Give a telephone number."]}}))
    assert [(f.name, message) for f, message in placed] == [("team", "Give a telephone number.")]


def test_marshmallow_messages_flatten_to_paths():
    messages = {"children": {"ages": {1: ["Not a valid integer."]}, "_schema": ["Whole."]}}
    assert list(form.flatten(messages)) == [
        (("children", "ages", 1), "Not a valid integer."),
        (("children",), "Whole."),
    ]


@pytest.mark.parametrize("slug", PAGE_ORDER)
def test_what_a_page_shows_for_the_draft_posts_back_as_the_same_answers(slug):
    page = questions.BY_SLUG[slug]
    answers = answered(*PAGE_ORDER)
    fields: dict = {}
    for name, value in form.form_values(page, answers).items():
        if isinstance(value, dict):
            fields |= {f"{name}-{box}": typed for box, typed in value.items()}
        else:
            fields[name] = value
    assert form.check_page(page, answers, posted(fields), USER).answers == answers


def test_check_your_answers_names_the_page_and_field_of_an_answer_gone_stale():
    answers = answered(*PAGE_ORDER)
    answers["family_member"]["date_of_birth"] = (today() + timedelta(days=2)).isoformat()
    loaded, [problem] = form.check_referral(answers)
    assert loaded is None
    assert (problem.page.slug, problem.field.name, problem.message) == (
        "family-member",
        "date_of_birth",
        "Date of birth cannot be in the future.",
    )


def test_answers_are_shown_in_words():
    answers = answered(*PAGE_ORDER)
    by_name = {f.name: f for page in questions.PAGES for f in page.fields}
    assert form.shown(by_name["date_of_birth"], answers) == "12 April 1986"
    assert form.shown(by_name["establishment"], answers) == "HMP Barlinnie"
    assert form.shown(by_name["child_protection"], answers) == "No"
    assert form.shown(by_name["needs"], answers) == (
        "Coping with imprisonment or release\nChildren and parenting"
    )
    assert form.shown(by_name["email"], answers) == ""


def test_pages_not_answered_are_next():
    assert form.next_page([]).slug == "consent"
    assert form.next_page(["consent", "about-you"]).slug == "family-member"
    assert form.next_page(PAGE_ORDER) is None
