"""Casework's rules, free of I/O: which operations a case accepts in each state, what each
one changes, and what the referrer is told.

A case is a plain dict as stored. Each operation checks the rules and answers a `Change`:
the fields to set, the entries to add to the case's lists, and its event. Nothing here
reads a clock or a database; callers pass the time and what they looked up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from backbone.clock import FIRST_CONTACT_WORKING_DAYS, UK, working_days_between
from backbone.errors import NotAllowed
from backbone.events import vocabulary
from backbone.events.case import CLOSING_OUTCOMES, CONTACT_METHODS, SIGNPOST_OUTCOMES
from backbone.events.hsds import NATIONAL_AREA
from backbone.events.vocabulary import WITHDRAWAL_REASONS

STATUSES = {
    "open": "Waiting for a coordinator",
    "allocated": "Allocated",
    "closed": "Closed",
    "declined": "Declined",
}
# What each operation needs the case to be.
ALLOWED = {
    "allocate": {"open", "allocated"},
    "record_contact": {"allocated"},
    "assess_needs": {"allocated"},
    "signpost": {"allocated"},
    "record_signpost_outcome": {"allocated"},
    "start_support": {"allocated"},
    "end_support": {"allocated"},
    "decline": {"open", "allocated"},
    "close": {"allocated"},
    "reopen": {"closed", "declined"},
}


@dataclass
class Change:
    event_type: str | None  # None: the case's timeline notes it, nothing is published
    event_data: dict[str, Any]
    summary: str  # for the case's timeline, in words a coordinator reads
    set: dict[str, Any] = field(default_factory=dict)
    push: dict[str, Any] = field(default_factory=dict)  # list name -> entry
    kind: str | None = None  # the timeline entry's kind, if not the event type

    @property
    def timeline_kind(self) -> str:
        return self.kind or self.event_type or ""


def check_allowed(case: dict[str, Any], operation: str) -> None:
    if case["status"] not in ALLOWED[operation]:
        raise NotAllowed(_refusal(case["status"], operation))


def _refusal(status: str, operation: str) -> str:
    if status == "closed":
        return "This case is closed: reopen it first."
    if status == "declined":
        return "This referral was declined: reopen it first."
    if status == "open":
        return "Allocate this case to a coordinator first."
    return f"A case that is {STATUSES[status].lower()} cannot do this."


def _base(case: dict[str, Any], at: datetime, by: str) -> dict[str, Any]:
    """What every case event carries. Event data is JSON: times as ISO 8601 text."""
    return {
        "case_id": case["_id"],
        "referral_id": case["referral_id"],
        "at": at.isoformat(),
        "by": by,
    }


def open_case(case_id: str, referral: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The new case for a ReferralReceived's data."""
    return {
        "_id": case_id,
        "referral_id": referral["referral_id"],
        "partner_id": referral["partner_id"],
        "partner_name": referral["partner_name"],
        "opened_at": at,
        "status": "open",
        "coordinator_id": None,
        "referral": referral,
        "local_authority": referral["family_member"]["local_authority"],
        "referring_team": referral["referrer"]["team"],
        "urgency": referral["urgency"],
        "needs": {need: {"status": "identified", "at": at} for need in referral["needs"]},
        "contacts": [],
        "signposts": [],
        "support": {"ongoing": False, "periods": []},
        "first_contact_at": None,
        "timeline": [
            {
                "at": at,
                "by": "system",
                "kind": "CaseOpened",
                "summary": f"Referral received from {referral['partner_name']}.",
            }
        ],
    }


def case_opened(case: dict[str, Any]) -> dict[str, Any]:
    return {
        **_base(case, case["opened_at"], "system"),
        "partner_id": case["partner_id"],
        "referring_team": case["referring_team"],
        "local_authority": case["local_authority"],
        "needs": sorted(case["needs"]),
    }


def allocate(case: dict, coordinator: dict, at: datetime, by: str) -> Change:
    check_allowed(case, "allocate")
    if "coordinator" not in coordinator.get("roles", []):
        raise NotAllowed("Allocate the case to a coordinator.", "/coordinator_id")
    reassigned = case["coordinator_id"] is not None
    if case["coordinator_id"] == coordinator["_id"]:
        raise NotAllowed("The case is already theirs.", "/coordinator_id")
    return Change(
        "CaseAllocated",
        {**_base(case, at, by), "coordinator_id": coordinator["_id"], "reassigned": reassigned},
        f"{'Reassigned' if reassigned else 'Allocated'} to {coordinator['name']}.",
        set={"status": "allocated", "coordinator_id": coordinator["_id"]},
    )


def record_contact(case: dict, contact: dict, contact_id: str, at: datetime, by: str) -> Change:
    """`contact`: method, happened_at, duration_minutes, notes, needs_addressed."""
    check_allowed(case, "record_contact")
    if contact["happened_at"] > at:
        raise NotAllowed("A contact cannot be in the future.", "/happened_at")
    if contact["happened_at"] < datetime.fromisoformat(case["referral"]["received_at"]):
        raise NotAllowed("A contact cannot be before the referral was received.", "/happened_at")
    unknown = [n for n in contact["needs_addressed"] if n not in case["needs"]]
    if unknown:
        raise NotAllowed(f"Identify these needs first: {', '.join(unknown)}.", "/needs_addressed")
    entry = {"id": contact_id, **contact, "recorded_at": at, "recorded_by": by}
    first = case["first_contact_at"]
    updates: dict[str, Any] = {}
    if first is None or contact["happened_at"] < first:
        updates["first_contact_at"] = contact["happened_at"]
    for need in contact["needs_addressed"]:
        updates[f"needs.{need}"] = {"status": "addressed", "at": at}
    return Change(
        "ContactRecorded",
        {
            **_base(case, at, by),
            "contact_id": contact_id,
            "method": contact["method"],
            "happened_at": contact["happened_at"].isoformat(),
            "duration_minutes": contact["duration_minutes"],
            "needs_addressed": contact["needs_addressed"],
        },
        f"{CONTACT_METHODS[contact['method']]}, {contact['duration_minutes']} minutes.",
        set=updates,
        push={"contacts": entry},
    )


def assess_needs(case: dict, needs: list[dict], at: datetime, by: str) -> Change:
    """`needs`: [{need, status}] with status identified or addressed."""
    check_allowed(case, "assess_needs")
    if len({n["need"] for n in needs}) < len(needs):
        raise NotAllowed("Record each need once: as identified, or as addressed.", "/needs")
    changed = [n for n in needs if case["needs"].get(n["need"], {}).get("status") != n["status"]]
    if not changed:
        raise NotAllowed("Nothing changes: the needs are already recorded so.", "/needs")
    words = "; ".join(f"{vocabulary.NEEDS[n['need']]}: {n['status']}" for n in changed)
    return Change(
        "NeedsAssessed",
        {**_base(case, at, by), "needs": changed},
        f"Needs: {words}.",
        set={f"needs.{n['need']}": {"status": n["status"], "at": at} for n in changed},
    )


def signpost(
    case: dict, service: dict | None, signpost_id: str, method: str, share: bool, at, by: str
) -> Change:
    """`service`: casework's view of the directory service, or None if it has none. The
    event names the needs the signpost answers: those of the case's needs (identified or
    addressed) the service is listed for, sorted by code."""
    check_allowed(case, "signpost")
    if service is None or service.get("status") != "active":
        raise NotAllowed("No current directory service has this id.", "/service_id")
    if share and not case["referral"]["consent"]["share_with_agencies"]:
        raise NotAllowed(
            "The family has not consented to share their details with other agencies: "
            "signpost them without sharing.",
            "/personal_details_shared",
        )
    entry = {
        "id": signpost_id,
        "service_id": service["_id"],
        "service_name": service["name"],
        "method": method,
        "personal_details_shared": share,
        "outcome": "pending",
        "made_at": at,
        "made_by": by,
    }
    return Change(
        "SignpostMade",
        {
            **_base(case, at, by),
            "signpost_id": signpost_id,
            "service_id": service["_id"],
            "method": method,
            "personal_details_shared": share,
            "needs": sorted(set(case["needs"]) & set(service.get("needs", []))),
        },
        f"Signposted to {service['name']}" + (" (details shared)." if share else "."),
        push={"signposts": entry},
    )


def record_signpost_outcome(case: dict, signpost_id: str, outcome: str, at, by: str) -> Change:
    check_allowed(case, "record_signpost_outcome")
    if outcome not in SIGNPOST_OUTCOMES:
        raise NotAllowed(f"Choose one of: {', '.join(SIGNPOST_OUTCOMES)}.", "/outcome")
    matching = [signpost for signpost in case["signposts"] if signpost["id"] == signpost_id]
    if not matching:
        raise NotAllowed("This case has no signpost with this id.", "/signpost_id")
    index = case["signposts"].index(matching[0])
    return Change(
        "SignpostOutcomeRecorded",
        {**_base(case, at, by), "signpost_id": signpost_id, "outcome": outcome},
        f"{matching[0]['service_name']}: {outcome.replace('_', ' ')}.",
        set={f"signposts.{index}.outcome": outcome, f"signposts.{index}.outcome_at": at},
    )


def start_support(case: dict, at: datetime, by: str) -> Change:
    check_allowed(case, "start_support")
    if case["support"]["ongoing"]:
        raise NotAllowed("One-to-one support is already ongoing.")
    return Change(
        "SupportStarted",
        _base(case, at, by),
        "Ongoing one-to-one support began.",
        set={"support.ongoing": True, "support.started_at": at},
    )


def end_support(case: dict, at: datetime, by: str) -> Change:
    check_allowed(case, "end_support")
    if not case["support"]["ongoing"]:
        raise NotAllowed("There is no ongoing one-to-one support to end.")
    return _ending_support(case, at, by)


def _ending_support(case: dict, at: datetime, by: str) -> Change:
    period = {"started_at": case["support"]["started_at"], "ended_at": at}
    return Change(
        "SupportEnded",
        _base(case, at, by),
        "Ongoing one-to-one support ended.",
        set={"support.ongoing": False, "support.started_at": None},
        push={"support.periods": period},
    )


def decline(case: dict, reason_for_referrer: str, at: datetime, by: str) -> list[Change]:
    """Declining, like closing, ends any ongoing support first."""
    check_allowed(case, "decline")
    declining = Change(
        "CaseDeclined",
        {**_base(case, at, by), "reason_for_referrer": reason_for_referrer},
        f"Declined: {reason_for_referrer}",
        set={"status": "declined", "declined_at": at, "reason_for_referrer": reason_for_referrer},
    )
    return [*_support_ending(case, at, by), declining]


def _support_ending(case: dict, at: datetime, by: str) -> list[Change]:
    return [_ending_support(case, at, by)] if case["support"]["ongoing"] else []


def close(case: dict, outcomes: list[str], outcome_for_referrer: str, at, by: str) -> list[Change]:
    """Closing ends any ongoing support first."""
    check_allowed(case, "close")
    closing = Change(
        "CaseClosed",
        {**_base(case, at, by), "outcomes": outcomes, "outcome_for_referrer": outcome_for_referrer},
        f"Closed: {outcome_for_referrer}",
        set={
            "status": "closed",
            "closed_at": at,
            "outcomes": outcomes,
            "outcome_for_referrer": outcome_for_referrer,
        },
    )
    return [*_support_ending(case, at, by), closing]


def reopen(case: dict, at: datetime, by: str) -> Change:
    check_allowed(case, "reopen")
    if case.get("withdrawal"):
        raise NotAllowed("The referrer withdrew this referral: the case stays closed.")
    status = "allocated" if case["coordinator_id"] else "open"
    ended = dict.fromkeys(ENDING_FIELDS)  # what the close or decline said no longer holds
    return Change(
        "CaseReopened",
        {**_base(case, at, by), "status": status},
        "Reopened.",
        set={"status": status, **ended},
    )


WITHDRAWN_OUTCOME = "withdrawn"
# What a coordinator may choose when closing a case: a withdrawal is the referrer's doing.
CHOSEN_OUTCOMES = {code: words for code, words in CLOSING_OUTCOMES.items() if code != "withdrawn"}


def withdraw(case: dict, withdrawal: dict[str, Any], at: datetime) -> list[Change]:
    """The referrer withdrew the referral (ReferralWithdrawn's data): the timeline says who
    and why, and a case still open or allocated is closed as withdrawn, its ongoing support
    ended first, as closing does. A case already closed or declined is not closed again.
    Nothing changes if the withdrawal is known already."""
    if case.get("withdrawal"):
        return []
    reason = WITHDRAWAL_REASONS[withdrawal["reason"]]
    who = withdrawal["withdrawn_by"]["name"]
    summary = f"Withdrawn by {who}: {reason}."
    if withdrawal.get("details"):
        summary += f" {withdrawal['details']}"
    noted = Change(
        None,
        {},
        summary,
        set={
            "withdrawal": {
                "reason": withdrawal["reason"],
                "details": withdrawal.get("details"),
                "by": withdrawal["withdrawn_by"],
                "at": withdrawal["at"],
            }
        },
        kind="ReferralWithdrawn",
    )
    if case["status"] not in ("open", "allocated"):
        return [noted]
    words = f"Withdrawn by the referrer: {reason}."
    closing = Change(
        "CaseClosed",
        {
            **_base(case, at, "system"),
            "outcomes": [WITHDRAWN_OUTCOME],
            "outcome_for_referrer": words,
        },
        "Closed as withdrawn.",
        set={
            "status": "closed",
            "closed_at": at,
            "outcomes": [WITHDRAWN_OUTCOME],
            "outcome_for_referrer": words,
        },
    )
    return [noted, *_support_ending(case, at, "system"), closing]


ENDING_FIELDS = (
    "closed_at",
    "outcomes",
    "outcome_for_referrer",
    "declined_at",
    "reason_for_referrer",
)


def waiting_for_first_contact(case: dict, now: datetime) -> bool:
    """Open or allocated, no contact yet, and referred more than five working days ago
    (days as they fall in the UK)."""
    if case["status"] not in ("open", "allocated") or case["first_contact_at"]:
        return False
    received = datetime.fromisoformat(case["referral"]["received_at"]).astimezone(UK)
    return working_days_between(received.date(), now.astimezone(UK).date()) > (
        FIRST_CONTACT_WORKING_DAYS
    )


def signpost_choices(
    services: list[dict[str, Any]], local_authority: str | None
) -> list[dict[str, Any]]:
    """Directory services for a family: those for their own local authority first, then
    national ones; services for other areas are left out."""
    if local_authority is None:
        return sorted(services, key=lambda service: service["name"].casefold())
    here = vocabulary.LOCAL_AUTHORITIES[local_authority]
    fitting = [
        service
        for service in services
        if here in service["areas"] or NATIONAL_AREA in service["areas"]
    ]
    return sorted(
        fitting, key=lambda service: (here not in service["areas"], service["name"].casefold())
    )
