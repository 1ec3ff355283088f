"""The catalogue: every event type, its schema version, topic and data schema.

docs/asyncapi.json is generated from this (`familyties asyncapi`), so the document and
the code cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from marshmallow import Schema

from backbone.events import case, notification, people
from backbone.events.hsds import ServiceChangedSchema
from backbone.events.referral import ReferralReceivedSchema, ReferralWithdrawnSchema


@dataclass(frozen=True, eq=False)
class EventType:
    name: str
    version: int
    topic: str
    source: str  # the one service that publishes it: an event from anywhere else is forged
    data_schema: type[Schema]
    summary: str

    @cached_property
    def schema(self) -> Schema:
        """One instance, reused: building a schema with nested ones is costly."""
        return self.data_schema()


def topic_of(service: str) -> str:
    """Each service publishes its events on one topic, keyed by aggregate id."""
    return f"familyties.{service}.events"


def source_of(service: str) -> str:
    """The CloudEvents source of every event a service publishes."""
    return f"/familyties/{service}"


def _version_1(service: str, name: str, schema: type[Schema], summary: str) -> EventType:
    """An event type at its first schema version, on its service's topic."""
    return EventType(name, 1, topic_of(service), source_of(service), schema, summary)


CATALOGUE: dict[str, EventType] = {
    event.name: event
    for event in [
        _version_1(
            "referral",
            "ReferralReceived",
            ReferralReceivedSchema,
            "A partner's referral was accepted into intake. Carries what casework needs to "
            "open a case. Personal data: special category.",
        ),
        _version_1(
            "referral",
            "ReferralWithdrawn",
            ReferralWithdrawnSchema,
            "The partner withdrew its referral (the family changed their mind, or it was "
            "sent by mistake): why, and who withdrew it. Casework closes the case as "
            "withdrawn; reporting counts it.",
        ),
        _version_1(
            "directory",
            "ServicePublished",
            ServiceChangedSchema,
            "A service was added to the directory: the service fully nested (HSDS 3.0, "
            "confidential addresses withheld) and who added it, when.",
        ),
        _version_1(
            "directory",
            "ServiceUpdated",
            ServiceChangedSchema,
            "A service, its organisation or one of its locations changed: the service as it "
            "is now, and who changed which fields, when.",
        ),
        _version_1(
            "directory",
            "ServiceWithdrawn",
            ServiceChangedSchema,
            "A service is no longer offered: families are not to be signposted to it.",
        ),
        _version_1(
            "casework",
            "CaseOpened",
            case.CaseOpenedSchema,
            "A case was opened for a referral; the referrer sees it as accepted.",
        ),
        _version_1(
            "casework",
            "CaseAllocated",
            case.CaseAllocatedSchema,
            "A manager gave the case to a coordinator, or to another one.",
        ),
        _version_1(
            "casework",
            "ContactRecorded",
            case.ContactRecordedSchema,
            "The coordinator was in touch with the family: how, when and for how "
            "long, and which needs it addressed. Notes stay in casework.",
        ),
        _version_1(
            "casework",
            "NeedsAssessed",
            case.NeedsAssessedSchema,
            "Needs were identified, or marked as addressed.",
        ),
        _version_1(
            "casework",
            "SignpostMade",
            case.SignpostMadeSchema,
            "The family was introduced to a directory service, and whether their "
            "details were shared (only with their consent).",
        ),
        _version_1(
            "casework",
            "SignpostOutcomeRecorded",
            case.SignpostOutcomeRecordedSchema,
            "Whether the family engaged with the service they were signposted to.",
        ),
        _version_1(
            "casework",
            "SupportStarted",
            case.SupportChangedSchema,
            "Ongoing one-to-one support began.",
        ),
        _version_1(
            "casework",
            "SupportEnded",
            case.SupportChangedSchema,
            "Ongoing one-to-one support ended.",
        ),
        _version_1(
            "casework",
            "CaseDeclined",
            case.CaseDeclinedSchema,
            "The referral was not taken on; the reason is written for the referrer.",
        ),
        _version_1(
            "casework",
            "CaseClosed",
            case.CaseClosedSchema,
            "The case was closed with its outcomes, in words fit for the referrer.",
        ),
        _version_1(
            "casework",
            "CaseReopened",
            case.CaseReopenedSchema,
            "A closed or declined case was opened again.",
        ),
        _version_1(
            "referral",
            "PartnerChanged",
            people.PartnerChangedSchema,
            "A partner organisation was added, given a new API key or removed: its name and "
            "the SHA-256 hash of its key (never the key), so notifications can recognise it.",
        ),
        _version_1(
            "casework",
            "StaffChanged",
            people.StaffChangedSchema,
            "A coordinator or manager was added, changed or removed: name, work email address "
            "and roles, so notifications can tell them of their cases.",
        ),
        _version_1(
            "notifications",
            "NotificationSent",
            notification.NotificationSchema,
            "A message was delivered: which kind, by which channel, to which kind of "
            "recipient, after how many attempts. Never an address or the message's words.",
        ),
        _version_1(
            "notifications",
            "NotificationFailed",
            notification.NotificationFailedSchema,
            "A message could not be delivered after every attempt, or its endpoint was "
            "disabled: why, in words with no personal data.",
        ),
    ]
}


TOPICS = frozenset(kind.topic for kind in CATALOGUE.values())


def event_type(name: str) -> EventType:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise LookupError(f"{name} is not in the event catalogue") from None
