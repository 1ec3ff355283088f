"""What casework's JSON API accepts and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from backbone.clock import now
from backbone.events import vocabulary
from backbone.events.case import (
    CONTACT_METHODS,
    NEED_STATUSES,
    SIGNPOST_METHODS,
    SIGNPOST_OUTCOMES,
)
from backbone.fields import Moment, identifier, one_of, strict_integer, text
from services.casework.domain import CHOSEN_OUTCOMES, STATUSES


class CaseQuerySchema(Schema):
    status = fields.String(validate=one_of(STATUSES))
    local_authority = fields.String(validate=one_of(vocabulary.LOCAL_AUTHORITIES))
    need = fields.String(validate=one_of(vocabulary.NEEDS))
    waiting_for_first_contact = fields.Boolean(
        metadata={"description": "No contact yet, more than 5 working days after opening."}
    )


class AllocationSchema(Schema):
    coordinator_id = identifier(required=True)


class ContactSchema(Schema):
    method = fields.String(required=True, validate=one_of(CONTACT_METHODS))
    happened_at = Moment(required=True)
    duration_minutes = strict_integer(required=True, validate=validate.Range(min=0, max=1440))
    notes = text(5000)
    needs_addressed = fields.List(
        fields.String(validate=one_of(vocabulary.NEEDS)), load_default=list
    )

    @validates("happened_at")
    def not_in_future(self, value, data_key):
        if value > now():
            raise ValidationError("A contact cannot be in the future.")


class NeedSchema(Schema):
    need = fields.String(required=True, validate=one_of(vocabulary.NEEDS))
    status = fields.String(required=True, validate=one_of(NEED_STATUSES))


class NeedsSchema(Schema):
    needs = fields.List(
        fields.Nested(NeedSchema),
        required=True,
        validate=validate.Length(min=1, error="Choose at least one need."),
    )


class SignpostSchema(Schema):
    service_id = identifier(required=True)
    method = fields.String(required=True, validate=one_of(SIGNPOST_METHODS))
    personal_details_shared = fields.Boolean(required=True)


class SignpostOutcomeSchema(Schema):
    outcome = fields.String(required=True, validate=one_of(SIGNPOST_OUTCOMES))


class SupportSchema(Schema):
    ongoing = fields.Boolean(required=True)


class DeclineSchema(Schema):
    reason_for_referrer = text(1000, required=True)


class CloseSchema(Schema):
    outcomes = fields.List(
        fields.String(validate=one_of(CHOSEN_OUTCOMES)),
        required=True,
        validate=validate.Length(min=1, error="Choose at least one outcome."),
    )
    outcome_for_referrer = text(1000, required=True)


class TimelineEntrySchema(Schema):
    at = fields.AwareDateTime()
    by_name = fields.String()
    kind = fields.String()
    summary = fields.String()


class CaseSummarySchema(Schema):
    id = fields.String(attribute="_id")
    referral_id = fields.String()
    status = fields.String()
    coordinator_id = fields.String(allow_none=True)
    partner_name = fields.String()
    opened_at = fields.AwareDateTime()
    urgency = fields.String()
    local_authority = fields.String()
    referring_team = fields.String()
    family_name = fields.String(attribute="referral.family_member.name")
    first_contact_at = fields.AwareDateTime(allow_none=True)


class Stored(fields.Dict):
    """A stored sub-document answered as JSON, its times in ISO 8601."""

    def _serialize(self, value, attr, obj, **kwargs):
        return _as_json(value)


def _as_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_json(item) for item in value]
    return value.isoformat() if isinstance(value, datetime) else value


class WithdrawnBySchema(Schema):
    kind = fields.String(metadata={"description": "user (on intake's pages) or api."})
    name = fields.String()


class WithdrawalSchema(Schema):
    reason = fields.String(metadata={"description": "One of WITHDRAWAL_REASONS."})
    details = fields.String(allow_none=True)
    by = fields.Nested(WithdrawnBySchema)
    at = fields.AwareDateTime()


class CaseDetailSchema(CaseSummarySchema):
    """The whole case: for its coordinator and managers only."""

    referral = Stored()
    needs = Stored()
    contacts = fields.List(Stored())
    signposts = fields.List(Stored())
    support = Stored()
    timeline = fields.List(fields.Nested(TimelineEntrySchema))
    # null once a reopened case's closing or declining no longer holds
    outcomes = fields.List(fields.String(), allow_none=True)
    outcome_for_referrer = fields.String(allow_none=True)
    reason_for_referrer = fields.String(allow_none=True)
    withdrawal = fields.Nested(
        WithdrawalSchema,
        metadata={"description": "When the referrer withdrew the referral: the case stays closed."},
    )


class AuditEntrySchema(Schema):
    at = fields.AwareDateTime()
    staff_id = fields.String()
    staff_name = fields.String()
    action = fields.String()
    what = fields.String()


class DirectoryServiceSchema(Schema):
    id = fields.String(attribute="_id")
    name = fields.String()
    organization_name = fields.String()
    description = fields.String()
    areas = fields.List(fields.String())
    needs = fields.List(fields.String())
    phones = fields.List(fields.String())


class DirectoryQuerySchema(Schema):
    need = fields.String(validate=one_of(vocabulary.NEEDS))
    local_authority = fields.String(validate=one_of(vocabulary.LOCAL_AUTHORITIES))
