"""What reporting's JSON API accepts and answers. The pages read their filters with the
same query schema, so the API and the pages refuse the same things."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validates_schema

from backbone.events import vocabulary
from backbone.fields import matching, one_of

MONTH = matching(r"(19|20)[0-9]{2}-(0[1-9]|1[0-2])", error="Give a month like 2009-09.")
LONGEST_RANGE_MONTHS = 120


class ReportQuerySchema(Schema):
    """A range of whole months (both included) and optional filters. Without a range, the
    last 12 complete months."""

    first = fields.String(data_key="from", validate=MONTH, metadata={"example": "2008-10"})
    last = fields.String(data_key="to", validate=MONTH, metadata={"example": "2009-09"})
    team = fields.String(
        validate=one_of(vocabulary.REFERRING_TEAMS),
        metadata={"description": "Only referrals from this referring team."},
    )
    local_authority = fields.String(
        validate=one_of(vocabulary.LOCAL_AUTHORITIES),
        metadata={"description": "Only referrals of families in this local authority."},
    )

    @validates_schema
    def whole_range(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("first" in data) != ("last" in data):
            missing = "to" if "first" in data else "from"
            raise ValidationError("Give both ends of the range, from and to.", missing)
        if "first" in data and data["first"] > data["last"]:
            raise ValidationError("The range must end on or after its first month.", "to")
        if "first" in data:
            first, last = (int(m[:4]) * 12 + int(m[5:]) for m in (data["first"], data["last"]))
            if last - first + 1 > LONGEST_RANGE_MONTHS:
                raise ValidationError(
                    f"Ask for at most {LONGEST_RANGE_MONTHS} months at a time.", "to"
                )


class PeriodSchema(Schema):
    first = fields.String(data_key="from", required=True)
    last = fields.String(data_key="to", required=True)
    # None when not filtered
    team = fields.String(allow_none=True)
    local_authority = fields.String(allow_none=True)


class TeamRowSchema(Schema):
    team = fields.String(required=True)
    label = fields.String(required=True)
    counts = fields.List(fields.Integer(), required=True, metadata={"description": "Per month."})
    total = fields.Integer(required=True)


class ReferralsByMonthSchema(Schema):
    period = fields.Nested(PeriodSchema, required=True)
    months = fields.List(fields.String(), required=True)
    teams = fields.List(fields.Nested(TeamRowSchema), required=True)
    month_totals = fields.List(fields.Integer(), required=True)
    total = fields.Integer(required=True)


class NeedRowSchema(Schema):
    need = fields.String(required=True)
    label = fields.String(required=True)
    identified = fields.Integer(
        required=True, metadata={"description": "Referrals that identified the need."}
    )
    answered = fields.Integer(
        required=True,
        metadata={
            "description": "Of those, referrals where it was addressed in a contact, marked "
            "addressed, or a signpost was made for it."
        },
    )


class NeedsReportSchema(Schema):
    period = fields.Nested(PeriodSchema, required=True)
    needs = fields.List(fields.Nested(NeedRowSchema), required=True)


class FirstContactSchema(Schema):
    contacted = fields.Integer(required=True)
    median = fields.Integer(allow_none=True, required=True)
    percentile_90 = fields.Integer(allow_none=True, required=True)


class SupportSchema(Schema):
    longest_period_days = fields.Integer(allow_none=True, required=True)
    longest_is_ongoing = fields.Boolean(required=True)
    ongoing = fields.Integer(required=True)
    periods_ended = fields.Integer(required=True)


class AgencyTypeRowSchema(Schema):
    agency_type = fields.String(required=True)
    label = fields.String(required=True)
    pending = fields.Integer(required=True)
    engaged = fields.Integer(required=True)
    not_engaged = fields.Integer(required=True)
    total = fields.Integer(required=True)


class SignpostsSchema(Schema):
    total = fields.Integer(required=True)
    by_agency_type = fields.List(fields.Nested(AgencyTypeRowSchema), required=True)


class HeadlineSchema(Schema):
    period = fields.Nested(PeriodSchema, required=True)
    referrals = fields.Integer(required=True)
    referrals_with_children = fields.Integer(required=True)
    children = fields.Integer(required=True)
    referrals_given_one_to_one_support = fields.Integer(required=True)
    open_now = fields.Integer(required=True)
    allocated_now = fields.Integer(required=True)
    waiting_for_first_contact = fields.Integer(required=True)
    waiting_more_than_5_working_days = fields.Integer(required=True)
    first_contact_working_days = fields.Nested(
        FirstContactSchema,
        required=True,
        metadata={"description": "Working days from the referral date to the first contact."},
    )
    support = fields.Nested(SupportSchema, required=True)
    signposts = fields.Nested(SignpostsSchema, required=True)
    closing_outcomes = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    closed = fields.Integer(required=True)
    declined = fields.Integer(required=True)
    withdrawn = fields.Integer(required=True)
    withdrawal_reasons = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "Referrals withdrawn, by reason (WITHDRAWAL_REASONS)."},
    )


class CaseloadRowSchema(Schema):
    coordinator_id = fields.String(required=True)
    cases = fields.Integer(required=True)
    waiting_for_first_contact = fields.Integer(required=True)


class CaseloadsSchema(Schema):
    coordinators = fields.List(fields.Nested(CaseloadRowSchema), required=True)
    cases = fields.Integer(required=True)
