"""The data of casework's events. They say what happened to a case, never what was said:
notes and the family's details stay in casework. The only words a coordinator writes that
travel are those written for the referrer: why a referral was declined, what became of it."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backbone.events import vocabulary as v
from backbone.fields import one_of, strict_integer, text

CONTACT_METHODS = {
    "telephone": "Telephone",
    "letter": "Letter",
    "email": "Email",
    "text": "Text message",
    "meeting": "Meeting",
    "home_visit": "Home visit",
    "prison_visit": "Prison visit",
    "childrens_hearing": "Went with the family to a Children's Hearing",
    "court": "Went with the family to court",
    "review": "Went with the family to a review",
}
SIGNPOST_METHODS = {
    "letter": "By letter",
    "telephone": "By telephone",
    "in_person": "Introduced in person",
}
SIGNPOST_OUTCOMES = {"pending": "Pending", "engaged": "Engaged", "not_engaged": "Not engaged"}
NEED_STATUSES = {"identified": "Identified", "addressed": "Addressed"}
CLOSING_OUTCOMES = {
    "needs_met": "Needs met",
    "signposted_on": "Signposted to other agencies",
    "family_withdrew": "The family chose to stop",
    "no_contact": "Could not make contact",
    "moved_away": "Moved out of the area",
    "other": "Other",
    # Not a coordinator's choice: the case closed because intake's ReferralWithdrawn said so.
    "withdrawn": "Referral withdrawn by the referrer",
}


def closed_for_withdrawal(case_closed: dict) -> bool:
    """Whether a CaseClosed's data says the case closed because its referral was withdrawn:
    news to the coordinator, but not to the referrer, who withdrew it."""
    return "withdrawn" in case_closed.get("outcomes", [])


class CaseEventSchema(Schema):
    case_id = fields.String(required=True)
    referral_id = fields.String(required=True)
    at = fields.AwareDateTime(required=True)
    by = fields.String(required=True, metadata={"description": "The staff member's id."})


class CaseOpenedSchema(CaseEventSchema):
    partner_id = fields.String(required=True)
    referring_team = fields.String(required=True, validate=one_of(v.REFERRING_TEAMS))
    local_authority = fields.String(required=True, validate=one_of(v.LOCAL_AUTHORITIES))
    needs = fields.List(fields.String(validate=one_of(v.NEEDS)), required=True)


class CaseAllocatedSchema(CaseEventSchema):
    coordinator_id = fields.String(required=True)
    reassigned = fields.Boolean(required=True)


class ContactRecordedSchema(CaseEventSchema):
    contact_id = fields.String(required=True)
    method = fields.String(required=True, validate=one_of(CONTACT_METHODS))
    happened_at = fields.AwareDateTime(required=True)
    duration_minutes = strict_integer(required=True, validate=validate.Range(min=0, max=1440))
    needs_addressed = fields.List(fields.String(validate=one_of(v.NEEDS)), required=True)


class NeedAssessmentSchema(Schema):
    need = fields.String(required=True, validate=one_of(v.NEEDS))
    status = fields.String(required=True, validate=one_of(NEED_STATUSES))


class NeedsAssessedSchema(CaseEventSchema):
    needs = fields.List(fields.Nested(NeedAssessmentSchema), required=True)


class SignpostMadeSchema(CaseEventSchema):
    signpost_id = fields.String(required=True)
    service_id = fields.String(required=True)
    method = fields.String(required=True, validate=one_of(SIGNPOST_METHODS))
    personal_details_shared = fields.Boolean(required=True)
    needs = fields.List(
        fields.String(validate=one_of(v.NEEDS)),
        load_default=list,
        metadata={
            "description": "The needs this signpost answers: those of the case's needs "
            "(identified or addressed) that the directory service is listed for, sorted by "
            "code. Empty when none is; an event made before this was recorded loads as empty."
        },
    )


class SignpostOutcomeRecordedSchema(CaseEventSchema):
    signpost_id = fields.String(required=True)
    outcome = fields.String(required=True, validate=one_of(SIGNPOST_OUTCOMES))


class SupportChangedSchema(CaseEventSchema):
    """SupportStarted and SupportEnded: ongoing one-to-one support."""


class CaseDeclinedSchema(CaseEventSchema):
    reason_for_referrer = text(1000, required=True)


class CaseClosedSchema(CaseEventSchema):
    outcomes = fields.List(fields.String(validate=one_of(CLOSING_OUTCOMES)), required=True)
    outcome_for_referrer = text(1000, required=True)


class CaseReopenedSchema(CaseEventSchema):
    status = fields.String(required=True, validate=validate.OneOf(["open", "allocated"]))
