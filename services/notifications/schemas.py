"""What notifications' API accepts and answers."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backbone.fields import text
from services.notifications.kinds import WEBHOOK_TYPES

EVENT_TYPES = sorted(WEBHOOK_TYPES)


class EndpointNewSchema(Schema):
    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "An https:// address that takes POSTed JSON."},
    )
    event_types = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES, error="Must be one of: {choices}.")),
        required=True,
        validate=validate.Length(min=1, error="Name at least one event type."),
    )
    description = text(200)


class SecretSchema(Schema):
    secret = fields.String()
    expires_at = fields.AwareDateTime(allow_none=True)


class EndpointSchema(Schema):
    id = fields.String(attribute="_id")
    url = fields.String()
    event_types = fields.List(fields.String())
    description = fields.String()
    status = fields.String(metadata={"description": "active, or disabled (see disabled_reason)."})
    disabled_reason = fields.String()
    created_at = fields.AwareDateTime()


class EndpointCreatedSchema(EndpointSchema):
    secret = fields.String(
        metadata={"description": "The signing secret (whsec_...): shown this once only."}
    )


class RotatedSchema(Schema):
    secret = fields.String(metadata={"description": "The new secret, shown this once only."})
    previous_expires_at = fields.AwareDateTime(
        metadata={"description": "Until then, webhooks carry both signatures."}
    )


class AttemptSchema(Schema):
    started_at = fields.AwareDateTime()
    finished_at = fields.AwareDateTime()
    outcome = fields.String()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)


class DeliverySchema(Schema):
    id = fields.String(attribute="_id", metadata={"description": "The webhook-id."})
    type = fields.String(attribute="webhook.type")
    referral_id = fields.String()
    status = fields.String()
    created_at = fields.AwareDateTime()
    next_attempt_at = fields.AwareDateTime()
    attempts = fields.List(fields.Nested(AttemptSchema))
    reason = fields.String()


class DeliveryListSchema(Schema):
    items = fields.List(fields.Nested(DeliverySchema))


class EndpointListSchema(Schema):
    items = fields.List(fields.Nested(EndpointSchema))


class ContactSchema(Schema):
    email = fields.Email(
        required=True,
        allow_none=True,
        metadata={"description": "Where the organisation's own messages go; null for none."},
    )


class EventTypeSchema(Schema):
    type = fields.String()
    description = fields.String()


class EventTypeListSchema(Schema):
    items = fields.List(fields.Nested(EventTypeSchema))
