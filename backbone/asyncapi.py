"""The AsyncAPI 3.0 document of the event catalogue, generated from its schemas."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin, resolver

from backbone.events.catalogue import CATALOGUE
from backbone.events.envelope import CONTENT_TYPE, EnvelopeSchema


def _channel_id(topic: str) -> str:
    return topic.replace(".", "-")


def asyncapi_document() -> dict[str, Any]:
    spec = APISpec("Family Ties events", "1", "3.1.0", plugins=[MarshmallowPlugin()])
    spec.components.schema("CloudEventEnvelope", schema=EnvelopeSchema)
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for kind in CATALOGUE.values():
        # Event types may share a data schema (ServicePublished, ServiceUpdated, ...).
        data_name = resolver(kind.data_schema)
        if data_name not in spec.components.schemas:
            spec.components.schema(data_name, schema=kind.data_schema)
        messages[kind.name] = {
            "name": kind.name,
            "title": f"{kind.name} (schema version {kind.version})",
            "summary": kind.summary,
            "contentType": CONTENT_TYPE,
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEventEnvelope"},
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": kind.name},
                            "schemaversion": {"const": kind.version},
                            "subject": {"description": "The aggregate id; also the key."},
                            "data": {"$ref": f"#/components/schemas/{data_name}"},
                        },
                    },
                ]
            },
            "bindings": {"kafka": {"key": {"type": "string", "description": "The aggregate id"}}},
        }
        channel = _channel_id(kind.topic)
        channels.setdefault(channel, {"address": kind.topic, "messages": {}})
        channels[channel]["messages"][kind.name] = {"$ref": f"#/components/messages/{kind.name}"}
        operations[f"publish{kind.name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{kind.name}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Family Ties events",
            "version": "1",
            "description": "Every event is a CloudEvents 1.0 envelope in structured JSON "
            "mode, keyed by its aggregate id so that an aggregate's events stay in order. "
            "Generated from backbone/events by `familyties asyncapi`.",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "make run"}
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": spec.to_dict()["components"]["schemas"]},
    }
