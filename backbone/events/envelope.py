"""The CloudEvents 1.0 envelope (structured JSON mode) around every event, with the
distributed-tracing extension's `traceparent` (backbone.tracing)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from backbone import tracing
from backbone.clock import now
from backbone.events.catalogue import EventType, event_type
from backbone.ids import new_event_id

CONTENT_TYPE = "application/cloudevents+json"


class InvalidEvent(ValueError):
    """An event that does not match its envelope or its catalogue entry."""


class EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # CloudEvents allows extension attributes we do not use

    specversion = fields.String(required=True, validate=validate.Equal("1.0"))
    id = fields.String(required=True, validate=validate.Length(min=1))
    source = fields.String(required=True, validate=validate.Length(min=1))
    type = fields.String(required=True, validate=validate.Length(min=1))
    subject = fields.String(required=True, validate=validate.Length(min=1))
    time = fields.AwareDateTime(required=True)
    datacontenttype = fields.String(load_default="application/json")
    schemaversion = fields.Integer(required=True, strict=True)
    data = fields.Dict(required=True)
    # Its format is not checked here: a malformed one costs the event its trace (the
    # consumer starts a new one), never its processing. Events made before tracing have none.
    traceparent = fields.String(
        load_default=None,
        metadata={
            "description": "CloudEvents distributed-tracing extension: the W3C trace "
            "context of the request or event that made this one.",
            "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
            "examples": ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
        },
    )


_ENVELOPE = EnvelopeSchema()


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    source: str
    subject: str
    time: datetime
    schemaversion: int
    data: dict[str, Any]
    traceparent: str | None = None


def new_event(type_name: str, source: str, subject: str, data: dict[str, Any]) -> dict:
    """A new event as a JSON-ready envelope, its data checked against the catalogue."""
    kind = event_type(type_name)
    if source != kind.source:
        raise InvalidEvent(f"{type_name} comes from {kind.source} alone, not {source}")
    errors = kind.schema.validate(data)
    if errors:
        raise InvalidEvent(f"{type_name} data does not match its schema: {errors}")
    try:  # caught here, in the change that makes it, not later in the relay
        json.dumps(data)
    except (TypeError, ValueError) as error:
        raise InvalidEvent(f"{type_name} data is not JSON: {error}") from None
    return {
        "specversion": "1.0",
        "id": new_event_id(),
        "source": source,
        "type": kind.name,
        "subject": subject,
        "time": now().isoformat(),
        "datacontenttype": "application/json",
        "schemaversion": kind.version,
        "data": data,
        "traceparent": tracing.traceparent(),
    }


def encode(envelope: dict) -> bytes:
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def decode(value: bytes | None) -> Event:
    """Parse and validate a message: the envelope, then the data for its type and version."""
    if not value:
        raise InvalidEvent("the message has no value (a tombstone?)")
    try:
        envelope = _ENVELOPE.load(json.loads(value))
    except (ValueError, TypeError, ValidationError, RecursionError) as error:
        raise InvalidEvent(f"not a valid CloudEvents envelope: {error}") from None
    kind = _known_type(envelope["type"], envelope["schemaversion"])
    if envelope["source"] != kind.source:
        raise InvalidEvent(f"{kind.name} comes from {kind.source} alone")
    try:
        data = kind.schema.load(envelope["data"])
    except ValidationError as error:
        raise InvalidEvent(f"{kind.name} data is invalid: {error.messages}") from None
    except RecursionError:
        raise InvalidEvent(f"{kind.name} data is nested too deeply") from None
    return Event(
        id=envelope["id"],
        type=envelope["type"],
        source=envelope["source"],
        subject=envelope["subject"],
        time=envelope["time"],
        schemaversion=envelope["schemaversion"],
        data=data,
        traceparent=envelope["traceparent"],
    )


def _known_type(name: str, version: int) -> EventType:
    try:
        kind = event_type(name)
    except LookupError as error:
        raise InvalidEvent(str(error)) from None
    if version != kind.version:
        raise InvalidEvent(f"{name} schema version {version} is not {kind.version}")
    return kind
