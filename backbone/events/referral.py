"""The shape of a referral, shared by intake's API and the ReferralReceived event, and of
its withdrawal, shared by intake's API, its web pages and the ReferralWithdrawn event."""

from __future__ import annotations

from datetime import date

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from backbone.clock import today
from backbone.events import vocabulary as v
from backbone.fields import PHONE, POSTCODE, Moment, Text, one_of, strict_integer, text

EARLIEST = date(1900, 1, 1)
EARLIEST_REFERRAL = date(2000, 1, 1)  # historical imports reach back to 2008


def not_in_future(value: date, what: str, earliest: date = EARLIEST) -> None:
    if value > today():
        raise ValidationError(f"{what} cannot be in the future.")
    if value < earliest:
        raise ValidationError(f"{what} cannot be before {earliest:%-d %B %Y}.")


class ContactDetailsSchema(Schema):
    phone = fields.String(validate=PHONE)
    email = fields.Email()
    address_line_1 = text(200)
    address_line_2 = text(200)
    town = text(100)
    postcode = fields.String(validate=POSTCODE)


class ReferrerSchema(Schema):
    team = fields.String(required=True, validate=one_of(v.REFERRING_TEAMS))
    role = fields.String(required=True, validate=one_of(v.REFERRER_ROLES))
    name = text(200, required=True)
    organisation = text(200)
    phone = fields.String(validate=PHONE)
    email = fields.Email()

    @validates_schema
    def has_a_way_back(self, data, **kwargs):
        if not data.get("phone") and not data.get("email"):
            raise ValidationError("Give a telephone number or an email address.", "phone")


class FamilyMemberSchema(Schema):
    name = text(200, required=True)
    date_of_birth = fields.Date()
    relationship_to_person_in_custody = fields.String(
        required=True, validate=one_of(v.RELATIONSHIPS)
    )
    contact = fields.Nested(ContactDetailsSchema, load_default=dict)
    local_authority = fields.String(required=True, validate=one_of(v.LOCAL_AUTHORITIES))
    preferred_contact_method = fields.String(required=True, validate=one_of(v.CONTACT_METHODS))
    safe_contact_notes = text(1000)

    @validates("date_of_birth")
    def born_already(self, value, data_key):
        not_in_future(value, "Date of birth")

    @validates_schema
    def reachable_as_preferred(self, data, **kwargs):
        method = data.get("preferred_contact_method")
        contact = data.get("contact") or {}
        needed = {"telephone": "phone", "text": "phone", "email": "email", "letter": "postcode"}
        if method in needed and not contact.get(needed[method]):
            raise ValidationError(
                f"Give the family member's {needed[method]} to contact them by {method}.",
                "contact",
            )


class PersonInCustodySchema(Schema):
    status = fields.String(required=True, validate=one_of(v.CUSTODY_STATUSES))
    establishment = fields.String(required=True, validate=one_of(v.ESTABLISHMENTS))
    expected_release_date = fields.Date()


class ChildrenSchema(Schema):
    number = strict_integer(required=True, validate=validate.Range(min=0, max=30))
    ages = fields.List(strict_integer(validate=validate.Range(min=0, max=17)), load_default=list)
    care_arrangement = fields.String(validate=one_of(v.CARE_ARRANGEMENTS))
    child_protection_involvement = fields.Boolean(required=True)

    @validates_schema
    def ages_fit_number(self, data, **kwargs):
        if len(data.get("ages", [])) > data.get("number", 0):
            raise ValidationError("Give no more ages than there are children.", "ages")
        if data.get("number", 0) > 0 and "care_arrangement" not in data:
            raise ValidationError("Say who the children are living with.", "care_arrangement")


class ConsentSchema(Schema):
    referral = fields.Boolean(required=True)
    share_with_agencies = fields.Boolean(required=True)
    recorded_on = fields.Date(required=True)
    recorded_by = text(200, required=True)

    @validates("referral")
    def given(self, value, data_key):
        if value is not True:
            raise ValidationError(
                "The family member must consent to the referral before it is made."
            )

    @validates("recorded_on")
    def recorded_already(self, value, data_key):
        not_in_future(value, "Consent date", EARLIEST_REFERRAL)


class ReferralSchema(Schema):
    """What a partner sends: everything a coordinator needs to open a case."""

    referrer = fields.Nested(ReferrerSchema, required=True)
    referred_on = fields.Date(load_default=today)
    family_member = fields.Nested(FamilyMemberSchema, required=True)
    person_in_custody = fields.Nested(PersonInCustodySchema, required=True)
    children = fields.Nested(ChildrenSchema, required=True)
    needs = fields.List(
        fields.String(validate=one_of(v.NEEDS)),
        required=True,
        validate=validate.Length(min=1, error="Identify at least one need."),
    )
    urgency = fields.String(load_default="routine", validate=one_of(v.URGENCIES))
    reason = text(4000, required=True)
    consent = fields.Nested(ConsentSchema, required=True)

    @validates("referred_on")
    def referred_already(self, value, data_key):
        not_in_future(value, "Referral date", EARLIEST_REFERRAL)

    @validates("needs")
    def needs_once_each(self, value, data_key):
        if len(set(value)) != len(value):
            raise ValidationError("Name each need once.")


class ReferralReceivedSchema(ReferralSchema):
    """ReferralReceived, version 1: the referral as accepted into intake."""

    referred_on = fields.Date(required=True)
    urgency = fields.String(required=True, validate=one_of(v.URGENCIES))

    referral_id = fields.String(required=True)
    partner_id = fields.String(required=True)
    partner_name = fields.String(required=True)
    received_at = Moment(required=True)
    possible_duplicate_of = fields.List(fields.String(), required=True)


WITHDRAWAL_DETAILS_LENGTH = 1000


class WithdrawalSchema(Schema):
    """Why a partner withdraws a referral: a reason, and details (needed for "other").
    Blank details count as none, so a web form's empty box and an API's "" read alike."""

    reason = fields.String(
        required=True,
        validate=one_of(v.WITHDRAWAL_REASONS, "Select why the referral is being withdrawn."),
        error_messages={
            "required": "Select why the referral is being withdrawn.",
            "null": "Select why the referral is being withdrawn.",
        },
        metadata={"description": "One of WITHDRAWAL_REASONS."},
    )
    details = Text(
        validate=validate.Length(
            max=WITHDRAWAL_DETAILS_LENGTH,
            error=f"Details must be {WITHDRAWAL_DETAILS_LENGTH} characters or fewer.",
        ),
        error_messages={"null": "Details must be text."},
        metadata={"description": 'A few words more; needed when the reason is "other".'},
    )

    @pre_load
    def blank_details_are_none(self, data, **kwargs):
        if isinstance(data, dict):
            details = data.get("details")
            if isinstance(details, str) and not details.strip():
                data = {key: value for key, value in data.items() if key != "details"}
        return data

    @validates_schema
    def details_for_another_reason(self, data, **kwargs):
        if data.get("reason") == "other" and not data.get("details"):
            raise ValidationError("Enter why the referral is being withdrawn.", "details")


class WithdrawnBySchema(Schema):
    """Who withdrew it: a partner's user on the web, or the partner's system by the API.
    A name only, the least the coordinator needs to know whom to ask."""

    kind = fields.String(required=True, validate=validate.OneOf(["user", "api"]))
    name = text(200, required=True)


class ReferralWithdrawnSchema(WithdrawalSchema):
    """ReferralWithdrawn, version 1: the partner withdrew its referral."""

    referral_id = fields.String(required=True)
    partner_id = fields.String(required=True)
    withdrawn_by = fields.Nested(WithdrawnBySchema, required=True)
    at = Moment(required=True)
