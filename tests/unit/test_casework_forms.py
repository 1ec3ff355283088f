"""Casework's forms without a server: what each gathers from a browser's fields and sends
to the JSON API's schema, and where the schema's and the service layer's messages go."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask

from backbone.clock import UK
from backbone.errors import Invalid
from backbone.events.case import CONTACT_METHODS
from services.casework import forms


@pytest.fixture
def app():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="for tests only", WTF_CSRF_ENABLED=False)
    with app.app_context():
        yield app


@pytest.fixture
def sent(app):
    """A form built from what a browser sent, as in a view handling a POST."""

    def build(form_class, data: dict, *args):
        with app.test_request_context(method="POST", data=data):
            return form_class(*args)

    return build


CASE = {
    "coordinator_id": "c1",
    "needs": {"housing": {"status": "identified"}, "bereavement": {"status": "addressed"}},
}


def a_contact(**changes: str) -> dict[str, str]:
    return {
        "method": "telephone",
        "happened_at-day": "27",
        "happened_at-month": "7",
        "happened_at-year": "2026",
        "happened_at-time": "14:30",
        "duration_minutes": "20",
        **changes,
    }


def problems(form: forms.SchemaForm) -> dict[str, str]:
    with pytest.raises(Invalid) as refused:
        form.accepted()
    return {error["pointer"]: error["detail"] for error in refused.value.errors}


def test_a_contact_is_sent_as_the_api_takes_it(sent):
    form = sent(forms.ContactForm, {**a_contact(), "needs_addressed": ["housing"]}, CASE)
    assert form.body() == {
        "method": "telephone",
        "happened_at": datetime(2026, 7, 27, 14, 30, tzinfo=UK).isoformat(),  # summer time
        "duration_minutes": 20,
        "needs_addressed": ["housing"],
    }
    assert form.accepted()["happened_at"] == datetime(2026, 7, 27, 13, 30, tzinfo=UTC)


def test_notes_are_sent_only_when_some_are_typed(sent):
    assert "notes" not in sent(forms.ContactForm, a_contact(notes="  "), CASE).body()
    assert sent(forms.ContactForm, a_contact(notes="Talked."), CASE).body()["notes"] == "Talked."


@pytest.mark.parametrize(
    "when",
    [
        {"happened_at-day": "31", "happened_at-month": "2"},
        {"happened_at-year": "3000000000"},
        {"happened_at-time": "half two"},
        dict.fromkeys(["happened_at-day", "happened_at-month", "happened_at-year"], ""),
    ],
)
def test_a_moment_that_is_not_real_is_refused_in_the_forms_words(sent, when):
    form = sent(forms.ContactForm, a_contact(**when), CASE)
    assert problems(form) == {"/happened_at": forms.UNREAL_MOMENT}


def test_the_schema_judges_what_the_fields_gathered(sent):
    form = sent(forms.ContactForm, a_contact(duration_minutes="twenty", method="pigeon"), CASE)
    assert problems(form) == {
        "/method": "Must be one of: " + ", ".join(CONTACT_METHODS) + ".",
        "/duration_minutes": "Not a valid integer.",
    }
    future = sent(forms.ContactForm, a_contact(**{"happened_at-year": "2099"}), CASE)
    assert problems(future) == {"/happened_at": "A contact cannot be in the future."}


def test_ticked_needs_are_sent_as_identified_or_addressed(sent):
    form = sent(
        forms.NeedsForm, {"identified": ["education", "health"], "addressed": "housing"}, CASE
    )
    assert [n["need"] for n in form.body()["needs"]] == ["education", "health", "housing"]
    assert [n["status"] for n in form.body()["needs"]] == ["identified"] * 2 + ["addressed"]
    assert "bereavement" not in [choice.value for choice in form.addressed.choices]


def test_a_message_about_all_the_needs_goes_on_the_first_group_shown(sent):
    form = sent(forms.NeedsForm, {}, CASE)
    form.show(
        [{"pointer": pointer, "detail": detail} for pointer, detail in problems(form).items()]
    )
    assert form.error_summary() == {"identified": "Choose at least one need."}


def test_the_error_summary_links_each_message_to_its_answer_in_the_order_shown(sent):
    form = sent(forms.ContactForm, {}, CASE)
    form.show(
        [
            {"pointer": "/needs_addressed/0", "detail": "Identify these needs first."},
            {"pointer": "/happened_at", "detail": "A contact cannot be in the future."},
            {"pointer": "", "detail": "This case is closed: reopen it first."},
            {"pointer": "/happened_at", "detail": "Only the first message of a field shows."},
        ]
    )
    assert form.error_summary() == {
        "actions": "This case is closed: reopen it first.",
        "happened_at-day": "A contact cannot be in the future.",
        "needs_addressed": "Identify these needs first.",
    }


def test_details_are_shared_only_when_yes_is_chosen(sent):
    service = {"service_id": "s1", "method": "letter"}
    for chosen, shared in [
        ({}, False),
        ({"personal_details_shared": "no"}, False),
        ({"personal_details_shared": "yes"}, True),
    ]:
        form = sent(forms.SignpostForm, {**service, **chosen}, [])
        assert form.accepted() == {**service, "personal_details_shared": shared}


def test_allocation_offers_the_current_coordinator_until_another_is_chosen(app):
    coordinators = [{"_id": "c1", "name": "Casey"}, {"_id": "c2", "name": "Robin"}]
    with app.test_request_context(method="GET"):
        assert forms.AllocateForm(CASE, coordinators).coordinator_id.data == "c1"
    with app.test_request_context(method="POST", data={}):
        form = forms.AllocateForm(CASE, coordinators)
        assert problems(form) == {"/coordinator_id": "Missing data for required field."}
