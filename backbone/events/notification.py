"""The data of notifications' events: what became of each message. They name the kind of
recipient and its id, never an address or what the message said."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backbone.fields import Moment

CHANNELS = ["email", "webhook"]


class NotificationSchema(Schema):
    message_id = fields.String(required=True)
    cause_event_id = fields.String(
        required=True, metadata={"description": "The event the message tells of."}
    )
    kind = fields.String(required=True, metadata={"description": "The template's name."})
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    recipient = fields.String(
        required=True,
        metadata={
            "description": "referrer:<referral id>, partner:<id>, staff:<id> or endpoint:<id>."
        },
    )
    referral_id = fields.String(load_default=None, allow_none=True)
    attempts = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    at = Moment(required=True)


class NotificationFailedSchema(NotificationSchema):
    reason = fields.String(required=True, validate=validate.Length(max=500))
