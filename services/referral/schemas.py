"""What intake's API answers and accepts besides the referral itself."""

from marshmallow import Schema, fields, validate

from backbone.events import vocabulary as v
from backbone.events.referral import ReferralSchema
from backbone.events.referral import WithdrawalSchema as WithdrawalFields
from backbone.fields import one_of


class StoredReferral(fields.Nested):
    """The referral as stored: already in its JSON form, so it is answered as it is;
    documented in OpenAPI by the schema it was validated with."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class WithdrawalSchema(WithdrawalFields):
    """What a partner sends to withdraw a referral, by the API or the web page: both
    refuse the same things with the same messages."""


class WithdrawnBySchema(Schema):
    kind = fields.String(metadata={"description": "user (on the web) or api."})
    name = fields.String(metadata={"description": "The user's name, or the partner's."})


class StatusChangeSchema(Schema):
    status = fields.String()
    at = fields.AwareDateTime()
    reason = fields.String(
        metadata={
            "description": "Why it was declined, in casework's words; when withdrawn, the "
            "reason's code: family_changed_mind, sent_by_mistake or other."
        }
    )
    details = fields.String(metadata={"description": "When withdrawn: the details given."})
    by = fields.Nested(WithdrawnBySchema, metadata={"description": "When withdrawn: by whom."})
    outcome = fields.String(metadata={"description": "What became of it, when closed."})


class ReferralSummarySchema(Schema):
    """A referral in a list: enough to recognise it, no personal details."""

    id = fields.String(attribute="_id")
    status = fields.String()
    referred_on = fields.String()
    received_at = fields.AwareDateTime()
    referring_team = fields.String(attribute="referral.referrer.team")
    urgency = fields.String(attribute="referral.urgency")
    # Only this partner's own earlier referrals count here (see domain.Duplicates).
    possible_duplicate = fields.Function(lambda record: bool(record["possible_duplicate_of_own"]))


class ReferralCreatedSchema(ReferralSummarySchema):
    class Meta:
        fields = ("id", "status", "received_at", "possible_duplicate")


class ReferralDetailSchema(ReferralSummarySchema):
    """The partner's own referral: what it sent, and what has become of it."""

    status_history = fields.List(fields.Nested(StatusChangeSchema))
    referral = StoredReferral(ReferralSchema)


class ReferralPageSchema(Schema):
    items = fields.List(fields.Nested(ReferralSummarySchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total_items = fields.Integer()
    total_pages = fields.Integer()


class ReferralQuerySchema(Schema):
    status = fields.String(validate=one_of(v.REFERRAL_STATUSES))
    referred_from = fields.Date()
    referred_to = fields.Date()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
