"""What intake accepts as a referral, and the message for each thing it refuses."""

from datetime import timedelta

import pytest
from marshmallow import ValidationError

from backbone.clock import today
from backbone.events.referral import ReferralSchema
from services.referral.schemas import WithdrawalSchema
from tests.factories import referral


def errors_of(body: dict) -> dict:
    with pytest.raises(ValidationError) as caught:
        ReferralSchema().load(body)
    return caught.value.messages


def test_a_complete_referral_is_accepted():
    loaded = ReferralSchema().load(referral())
    assert loaded["family_member"]["local_authority"] == "GLASGOW_CITY"
    assert loaded["children"]["ages"] == [4, 9]


def test_referred_on_defaults_to_today_and_may_be_in_the_past():
    body = referral()
    del body["referred_on"]
    assert ReferralSchema().load(body)["referred_on"] == today()
    historical = ReferralSchema().load(referral(referred_on="2008-10-14"))
    assert historical["referred_on"].isoformat() == "2008-10-14"


def test_a_future_referral_date_is_refused():
    tomorrow = (today() + timedelta(days=1)).isoformat()
    assert errors_of(referral(referred_on=tomorrow)) == {
        "referred_on": ["Referral date cannot be in the future."]
    }


def test_dates_before_any_plausible_record_are_refused():
    assert errors_of(referral(referred_on="1999-12-31")) == {
        "referred_on": ["Referral date cannot be before 1 January 2000."]
    }
    errors = errors_of(referral(family_member__date_of_birth="0001-01-01"))
    assert errors["family_member"]["date_of_birth"] == [
        "Date of birth cannot be before 1 January 1900."
    ]


def test_consent_to_the_referral_is_required():
    assert errors_of(referral(consent__referral=False))["consent"] == {
        "referral": ["The family member must consent to the referral before it is made."]
    }
    body = referral()
    del body["consent"]
    assert errors_of(body) == {"consent": ["Missing data for required field."]}


def test_consent_to_share_must_be_answered_yes_or_no():
    body = referral()
    del body["consent"]["share_with_agencies"]
    assert "share_with_agencies" in errors_of(body)["consent"]


def test_unknown_fields_are_refused_at_any_depth():
    errors = errors_of(referral(family_member__nickname="JJ", colour="blue"))
    assert errors["colour"] == ["Unknown field."]
    assert errors["family_member"] == {"nickname": ["Unknown field."]}


def test_wrong_types_are_named_by_field():
    errors = errors_of(referral(children__number="two", needs="housing"))
    assert errors["children"]["number"] == ["Not a valid integer."]
    assert errors["needs"] == ["Not a valid list."]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("referrer__team", "EDINBURGH"),
        ("referrer__role", "judge"),
        ("family_member__local_authority", "GOTHAM"),
        ("family_member__preferred_contact_method", "carrier_pigeon"),
        ("person_in_custody__establishment", "HMP_NOWHERE"),
        ("person_in_custody__status", "escaped"),
        ("children__care_arrangement", "boarding_school"),
        ("urgency", "yesterday"),
    ],
)
def test_controlled_vocabularies_refuse_other_words(path, value):
    errors = errors_of(referral(**{path: value}))
    *parents, leaf = path.split("__")
    for key in parents:
        errors = errors[key]
    assert errors[leaf][0].startswith("Must be one of:")


def test_needs_come_from_the_vocabulary_once_each_and_at_least_one():
    assert errors_of(referral(needs=[])) == {"needs": ["Identify at least one need."]}
    assert errors_of(referral(needs=["housing", "housing"])) == {"needs": ["Name each need once."]}
    assert "needs" in errors_of(referral(needs=["housing", "flying lessons"]))


def test_the_preferred_way_of_contact_needs_its_details():
    errors = errors_of(referral(family_member__contact={}))
    assert errors["family_member"]["contact"] == [
        "Give the family member's phone to contact them by telephone."
    ]
    body = referral(
        family_member__contact={}, family_member__preferred_contact_method="do_not_contact"
    )
    assert (
        ReferralSchema().load(body)["family_member"]["preferred_contact_method"] == "do_not_contact"
    )


def test_a_date_of_birth_in_the_future_is_refused():
    tomorrow = (today() + timedelta(days=1)).isoformat()
    errors = errors_of(referral(family_member__date_of_birth=tomorrow))
    assert errors["family_member"]["date_of_birth"] == ["Date of birth cannot be in the future."]


def test_children_ages_fit_their_number_and_their_care_is_stated():
    assert errors_of(referral(children__number=1))["children"] == {
        "ages": ["Give no more ages than there are children."]
    }
    body = referral()
    del body["children"]["care_arrangement"]
    assert "care_arrangement" in errors_of(body)["children"]
    assert errors_of(referral(children__ages=[19, 4]))["children"]["ages"] == {
        0: ["Must be greater than or equal to 0 and less than or equal to 17."]
    }


def test_the_referrer_leaves_a_way_back():
    body = referral()
    del body["referrer"]["phone"]
    assert errors_of(body)["referrer"] == {
        "phone": ["Give a telephone number or an email address."]
    }


def test_phone_numbers_and_postcodes_are_checked():
    errors = errors_of(referral(family_member__contact={"phone": "call me", "postcode": "nope"}))
    assert errors["family_member"]["contact"]["phone"][0].startswith("Enter a telephone number")
    assert errors["family_member"]["contact"]["postcode"][0].startswith("Enter a real postcode")


def withdrawal_errors(body: dict) -> dict:
    try:
        WithdrawalSchema().load(body)
    except ValidationError as error:
        return error.messages
    return {}


def test_a_withdrawal_needs_a_reason_from_the_list():
    assert WithdrawalSchema().load({"reason": "family_changed_mind"}) == {
        "reason": "family_changed_mind"
    }
    for body in ({}, {"reason": None}, {"reason": "bored"}):
        assert withdrawal_errors(body) == {
            "reason": ["Select why the referral is being withdrawn."]
        }


def test_another_reason_needs_details_and_blank_details_are_none():
    for body in ({"reason": "other"}, {"reason": "other", "details": "  \r\n "}):
        assert withdrawal_errors(body) == {
            "details": ["Enter why the referral is being withdrawn."]
        }
    assert WithdrawalSchema().load({"reason": "sent_by_mistake", "details": " "}) == {
        "reason": "sent_by_mistake"
    }
    assert WithdrawalSchema().load({"reason": "other", "details": " Moved away. "}) == {
        "reason": "other",
        "details": "Moved away.",
    }


def test_withdrawal_details_are_limited_and_nothing_else_is_taken():
    assert withdrawal_errors({"reason": "other", "details": "x" * 1001}) == {
        "details": ["Details must be 1000 characters or fewer."]
    }
    assert withdrawal_errors({"reason": "other", "details": "a\x00b"}) == {
        "details": ["Must not contain control characters."]
    }
    assert "status" in withdrawal_errors({"reason": "sent_by_mistake", "status": "received"})
