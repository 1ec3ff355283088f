"""Who hears what: the messages an event makes, decided without I/O from the view's
records (the referral as notifications knows it, its partner, the staff, the partner's
endpoints). Families are never addressed (kinds.py); staff and referrer emails carry a
reference and a link, never a family's details."""

from __future__ import annotations

import dataclasses
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from backbone.clock import FIRST_CONTACT_WORKING_DAYS, UK, working_days_between
from backbone.events.case import closed_for_withdrawal
from services.notifications.kinds import (
    COORDINATOR,
    DIGEST,
    EACH,
    KINDS,
    MANAGER,
    NONE,
    REFERRER,
)

_NAMESPACE = uuid.UUID("6f1d0b4e-3c1a-4b8e-9a55-2f0f4f8f9a10")

# What each case event means to the referrer (as intake shows it), and so which kind of
# message it makes.
REFERRER_KINDS = {
    "ReferralReceived": "referral_received",
    "CaseOpened": "referral_accepted",
    "CaseAllocated": "referral_allocated",
    "CaseDeclined": "referral_declined",
    "CaseClosed": "referral_closed",
}
STATUS_OF = {
    "referral_received": "received",
    "referral_accepted": "accepted",
    "referral_allocated": "allocated",
    "referral_declined": "declined",
    "referral_closed": "closed",
}


@dataclass(frozen=True)
class Links:
    """Where people follow a message up: the services' public addresses."""

    intake: str
    casework: str
    notifications: str

    def status(self, referral_id: str) -> str:
        return f"{self.intake}/v1/referrals/{referral_id}"

    def case(self, case_id: str) -> str:
        return f"{self.casework}/cases/{case_id}"

    def cases(self) -> str:
        return f"{self.casework}/cases"

    def preferences(self) -> str:
        return f"{self.notifications}/preferences"


@dataclass(frozen=True)
class Intent:
    """One message to make: kind, channel, recipient (`referrer:<referral id>`,
    `partner:<id>`, `staff:<id>` or `endpoint:<id>`) and the address it goes to (an email
    address, or an endpoint's id), with the template's values or the webhook's payload."""

    kind: str
    channel: str
    recipient: str
    address: str
    values: dict[str, Any] = field(default_factory=dict)
    webhook: dict[str, Any] | None = None
    referral_id: str | None = None
    partner_id: str | None = None
    held: bool = False  # kept for the recipient's daily digest

    def message_id(self, cause: str) -> str:
        """The same event, recipient and channel always make the same message id: the
        message is made once however often the event is delivered."""
        return str(uuid.uuid5(_NAMESPACE, f"{cause}|{self.recipient}|{self.channel}"))

    @property
    def lane(self) -> str:
        """Messages in one lane are delivered in the order they were made."""
        return f"{self.recipient}|{self.channel}|{self.referral_id or ''}"


def choice(staff: dict[str, Any], kind: str) -> str:
    """How a staff member takes a kind of message: their choice, for an optional kind, or
    each one."""
    return staff.get("preferences", {}).get(kind, EACH) if KINDS[kind].optional else EACH


def referrer_messages(
    event_type: str,
    data: dict[str, Any],
    referral: dict[str, Any],
    partner: dict[str, Any] | None,
    endpoints: list[dict[str, Any]],
    links: Links,
) -> list[Intent]:
    """The referrer's email and the partner's webhooks for a change they see."""
    kind_name = REFERRER_KINDS.get(event_type)
    if kind_name is None or (event_type == "CaseAllocated" and data.get("reassigned")):
        return []
    if event_type == "CaseClosed" and closed_for_withdrawal(data):
        return []  # as intake shows it: the referral stays "withdrawn", not "closed"
    kind = KINDS[kind_name]
    referral_id = referral["_id"]
    values = {
        "reference": referral_id,
        "status_link": links.status(referral_id),
        "partner_name": (partner or {}).get("name", "your organisation"),
        "reason": data.get("reason_for_referrer", ""),
        "outcome": data.get("outcome_for_referrer", ""),
    }
    values = {name: values[name] for name in kind.placeholders}
    found: list[Intent] = []
    address = referral.get("referrer_email") or (partner or {}).get("contact_email")
    if address:
        found.append(
            Intent(
                kind.name,
                "email",
                f"{REFERRER}:{referral_id}",
                address,
                values,
                referral_id=referral_id,
                partner_id=referral.get("partner_id"),
            )
        )
    payload = webhook_payload(kind_name, referral_id, data)
    for endpoint in endpoints:
        if endpoint["status"] == "active" and kind.webhook_type in endpoint["event_types"]:
            found.append(
                Intent(
                    kind.name,
                    "webhook",
                    f"endpoint:{endpoint['_id']}",
                    endpoint["_id"],
                    webhook=payload,
                    referral_id=referral_id,
                    partner_id=endpoint["partner_id"],
                )
            )
    return found


def webhook_payload(kind_name: str, referral_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A Standard Webhooks payload: the referral's id, status, time and the words written
    for the referrer; nothing about the family."""
    at = data.get("at") or data.get("received_at")
    body: dict[str, Any] = {"referral_id": referral_id, "status": STATUS_OF[kind_name], "at": at}
    if data.get("reason_for_referrer"):
        body["reason"] = data["reason_for_referrer"]
    if data.get("outcome_for_referrer"):
        body["outcome"] = data["outcome_for_referrer"]
    return {"type": KINDS[kind_name].webhook_type, "timestamp": at, "data": body}


def new_referral_messages(
    referral: dict[str, Any], case_id: str, team: str, staff: list[dict[str, Any]], links: Links
) -> list[Intent]:
    """Managers: a new referral is waiting for a coordinator (urgent ones marked)."""
    values = {
        "reference": referral["_id"],
        "case_link": links.case(case_id),
        "team": team,
        "urgent": "yes" if referral.get("urgency") == "urgent" else "",
    }
    return _to_staff("new_referral", MANAGER, values, referral["_id"], staff, links)


def allocation_messages(
    data: dict[str, Any], staff_by_id: dict[str, dict[str, Any]], links: Links
) -> list[Intent]:
    """The coordinator a case was allocated or reassigned to; it cannot be turned off."""
    coordinator = staff_by_id.get(data["coordinator_id"])
    values = {
        "reference": data["referral_id"],
        "case_link": links.case(data["case_id"]),
        "reassigned": "yes" if data["reassigned"] else "",
    }
    people = [coordinator] if coordinator else []
    return _to_staff("case_allocated", COORDINATOR, values, data["referral_id"], people, links)


def withdrawal_messages(
    data: dict[str, Any], referral: dict[str, Any], staff_by_id: dict[str, dict[str, Any]], links
) -> list[Intent]:
    """The coordinator of a case closed because its referral was withdrawn (CaseClosed with
    the outcome "withdrawn"): they stop working it. A case nobody had tells nobody."""
    if not closed_for_withdrawal(data):
        return []
    coordinator = staff_by_id.get(referral.get("coordinator_id") or "")
    values = {"reference": data["referral_id"], "case_link": links.case(data["case_id"])}
    people = [coordinator] if coordinator else []
    return _to_staff("case_withdrawn", COORDINATOR, values, data["referral_id"], people, links)


def _to_staff(
    kind: str,
    role: str,
    values: dict[str, Any],
    referral_id: str | None,
    staff: list[dict[str, Any]],
    links: Links,
) -> list[Intent]:
    values = {**values, "preferences_link": links.preferences()}
    found = []
    for person in staff:
        if not person.get("active") or not person.get("email") or role not in person["roles"]:
            continue
        chosen = choice(person, kind)
        if chosen == NONE:
            continue
        found.append(
            Intent(
                kind,
                "email",
                f"staff:{person['_id']}",
                person["email"],
                values,
                referral_id=referral_id,
                held=chosen == DIGEST,
            )
        )
    return found


def waiting_for_first_contact(referrals: list[dict[str, Any]], on: date) -> list[tuple[str, int]]:
    """Referrals still open with no first contact, and their working days waiting, for
    those waiting more than FIRST_CONTACT_WORKING_DAYS; longest first."""
    waiting = []
    for referral in referrals:
        if referral.get("first_contact_at") or referral.get("status") in ("declined", "closed"):
            continue
        received = _uk_date(referral["received_at"])
        days = working_days_between(received, on)
        if days > FIRST_CONTACT_WORKING_DAYS:
            waiting.append((referral["_id"], days))
    return sorted(waiting, key=lambda item: (-item[1], item[0]))


def waiting_summary_values(waiting: list[tuple[str, int]], on: date, links: Links) -> dict:
    return {
        "count": len(waiting),
        "waiting": [f"{ref} ({days} working days)" for ref, days in waiting],
        "cases_link": links.cases(),
        "date": f"{on:%A} {on.day} {on:%B %Y}",
    }


def summary_messages(
    waiting: list[tuple[str, int]], on: date, staff: list[dict[str, Any]], links: Links
) -> list[Intent]:
    """The managers' daily summary, on days when any referral waits too long. A digest
    choice is the same as each one: the summary is daily already."""
    if not waiting:
        return []
    values = waiting_summary_values(waiting, on, links)
    found = _to_staff("waiting_summary", MANAGER, values, None, staff, links)
    return [dataclasses.replace(intent, held=False) for intent in found]


def _uk_date(moment: datetime | str) -> date:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(UK).date()


def payload_bytes(webhook: dict[str, Any]) -> str:
    """The exact body sent (and signed): compact JSON, keys in a fixed order."""
    return json.dumps(webhook, separators=(",", ":"), sort_keys=True)
