"""What notifications does with other services' events: keeps its views, and records the
messages each event makes (rules.py) in the same transaction as the event's processing.
Nothing is sent here: the sender (delivery.py) sends what is recorded."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo.client_session import ClientSession

from backbone import tracing
from backbone.clock import now
from backbone.consumer import Handler
from backbone.events.catalogue import event_type
from backbone.events.envelope import Event
from services.notifications import rules
from services.notifications.repository import HELD, QUEUED, Store
from services.notifications.templates import Template

CASE_EVENTS = [
    "CaseOpened",
    "CaseAllocated",
    "ContactRecorded",
    "CaseDeclined",
    "CaseClosed",
    "CaseReopened",
]


class MessageMaker:
    """Turns intents into message documents: rendered once, so every attempt sends the
    same bytes."""

    def __init__(self, store: Store, templates: dict[str, Template], retry: timedelta) -> None:
        self.store = store
        self.templates = templates
        self.retry = retry

    def record(self, cause: str, intents: list[rules.Intent], session=None) -> None:
        at = now()
        self.store.add_messages([self.document(cause, i, at) for i in intents], session)

    def document(self, cause: str, intent: rules.Intent, at: datetime) -> dict[str, Any]:
        document: dict[str, Any] = {
            "_id": intent.message_id(cause),
            "cause_event_id": cause,
            "seq": cause,
            "lane": intent.lane,
            "kind": intent.kind,
            "channel": intent.channel,
            "recipient": intent.recipient,
            "address": intent.address,
            "referral_id": intent.referral_id,
            "partner_id": intent.partner_id,
            "status": HELD if intent.held else QUEUED,
            "created_at": at,
            "next_attempt_at": at,
            "give_up_at": at + self.retry,
            "attempts": [],
            "traceparent": tracing.traceparent(),  # the event's trace, for the sender
        }
        if intent.channel == "email":
            rendered = self.templates[intent.kind].render(intent.values)
            document["email"] = {
                "subject": rendered.subject,
                "text": rendered.text,
                "html": rendered.html,
            }
            document["summary"] = rendered.subject
        else:
            document["webhook"] = {
                "type": intent.webhook["type"],
                "body": rules.payload_bytes(intent.webhook),
            }
        return document


def handlers(store: Store, maker: MessageMaker, links: rules.Links) -> dict[str, Handler]:
    def partner_changed(event: Event, session: ClientSession) -> None:
        store.partners.keep(event.data, session)

    def staff_changed(event: Event, session: ClientSession) -> None:
        store.keep_staff(event.data, session)

    def referral_received(event: Event, session: ClientSession) -> None:
        data = _json(event)
        referral = store.keep_referral(
            data["referral_id"],
            {
                "partner_id": data["partner_id"],
                "referrer_email": data["referrer"].get("email"),
                "team": data["referrer"]["team"],
                "urgency": data["urgency"],
                "received_at": data["received_at"],
                "status": "received",
            },
            session,
        )
        about_referral(event.id, "ReferralReceived", data, referral, session)
        for parked in store.take_parked(referral["_id"], session):
            case_change(parked["id"], parked["type"], parked["data"], referral, session)

    def case_event(event: Event, session: ClientSession) -> None:
        referral = store.referral(event.data["referral_id"], session)
        if referral is None or referral.get("received_at") is None:
            # Casework's topic ran ahead of intake's: made when the referral arrives.
            store.park(
                event.data["referral_id"],
                {"id": event.id, "type": event.type, "data": _json(event)},
                session,
            )
            return
        case_change(event.id, event.type, _json(event), referral, session)

    def case_change(cause: str, kind: str, data: dict, referral: dict, session) -> None:
        fields: dict[str, Any] = {"case_id": data["case_id"]}
        if kind == "CaseAllocated":
            fields["coordinator_id"] = data["coordinator_id"]  # to tell of a withdrawal
        elif kind == "ContactRecorded":
            fields["first_contact_at"] = referral.get("first_contact_at") or data["happened_at"]
        elif kind in ("CaseDeclined", "CaseClosed"):
            fields["status"] = "declined" if kind == "CaseDeclined" else "closed"
        elif kind == "CaseReopened":
            fields["status"] = "open"
        referral = store.keep_referral(referral["_id"], fields, session)
        about_referral(cause, kind, data, referral, session)
        staff = store.all_staff(session)
        intents: list[rules.Intent] = []
        if kind == "CaseOpened":
            intents += rules.new_referral_messages(
                referral, data["case_id"], data["referring_team"], staff, links
            )
        if kind == "CaseAllocated":
            intents += rules.allocation_messages(data, {s["_id"]: s for s in staff}, links)
        if kind == "CaseClosed":
            intents += rules.withdrawal_messages(
                data, referral, {s["_id"]: s for s in staff}, links
            )
        maker.record(cause, intents, session)

    def about_referral(cause: str, kind: str, data: dict, referral: dict, session) -> None:
        partner = store.partners.by_id(referral["partner_id"], session)
        endpoints = store.partner_endpoints(referral["partner_id"], session)
        intents = rules.referrer_messages(kind, data, referral, partner, endpoints, links)
        maker.record(cause, intents, session)

    return {
        "PartnerChanged": partner_changed,
        "StaffChanged": staff_changed,
        "ReferralReceived": referral_received,
        **dict.fromkeys(CASE_EVENTS, case_event),
    }


def _json(event: Event) -> dict[str, Any]:
    """The event's data as JSON values (dates as ISO strings), as it was published."""
    return event_type(event.type).schema.dump(event.data)
