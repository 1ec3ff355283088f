"""The catalogue: every event type, its schema version, topic and data schema.

docs/asyncapi.json is generated from this (`familyties asyncapi`), so the document and
the code cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from marshmallow import Schema

from backbone.events.hsds import ServiceChangedSchema
from backbone.events.referral import ReferralReceivedSchema


@dataclass(frozen=True, eq=False)
class EventType:
    name: str
    version: int
    topic: str
    data_schema: type[Schema]
    summary: str

    @cached_property
    def schema(self) -> Schema:
        """One instance, reused: building a schema with nested ones is costly."""
        return self.data_schema()


def topic_of(service: str) -> str:
    """Each service publishes its events on one topic, keyed by aggregate id."""
    return f"familyties.{service}.events"


CATALOGUE: dict[str, EventType] = {
    event.name: event
    for event in [
        EventType(
            name="ReferralReceived",
            version=1,
            topic=topic_of("referral"),
            data_schema=ReferralReceivedSchema,
            summary="A partner's referral was accepted into intake. Carries what casework "
            "needs to open a case. Personal data: special category.",
        ),
        EventType(
            name="ServicePublished",
            version=1,
            topic=topic_of("directory"),
            data_schema=ServiceChangedSchema,
            summary="A service was added to the directory: the service fully nested (HSDS "
            "3.0, confidential addresses withheld) and who added it, when.",
        ),
        EventType(
            name="ServiceUpdated",
            version=1,
            topic=topic_of("directory"),
            data_schema=ServiceChangedSchema,
            summary="A service, its organisation or one of its locations changed: the service "
            "as it is now, and who changed which fields, when.",
        ),
        EventType(
            name="ServiceWithdrawn",
            version=1,
            topic=topic_of("directory"),
            data_schema=ServiceChangedSchema,
            summary="A service is no longer offered: families are not to be signposted to it.",
        ),
    ]
}


def event_type(name: str) -> EventType:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise LookupError(f"{name} is not in the event catalogue") from None
