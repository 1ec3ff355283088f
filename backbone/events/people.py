"""The data of the events that say who may be told things: partner organisations (from
intake) and staff (from casework). Notifications keeps a view of both to address its
messages. A partner's API key never travels: only its SHA-256 hash, which lets another
service recognise the key without being able to make it."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backbone.fields import Moment, text

HEX_SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="Must be a SHA-256 hash in hex.")
STAFF_ROLES = ["coordinator", "manager"]


class PartnerChangedSchema(Schema):
    partner_id = fields.String(required=True)
    name = text(200, required=True)
    api_key_hash = fields.String(required=True, validate=HEX_SHA256)
    active = fields.Boolean(required=True, metadata={"description": "False once revoked."})
    at = Moment(required=True)


class StaffChangedSchema(Schema):
    staff_id = fields.String(required=True)
    name = text(200, required=True)
    email = fields.Email(
        load_default=None,
        allow_none=True,
        metadata={"description": "The work address notifications are sent to, if given."},
    )
    roles = fields.List(fields.String(validate=validate.OneOf(STAFF_ROLES)), required=True)
    active = fields.Boolean(required=True, metadata={"description": "False once revoked."})
    at = Moment(required=True)
