"""Intake's rules, free of I/O: duplicate matching, idempotency, the referral record, and
withdrawing a referral."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from backbone.errors import Conflict
from backbone.events.case import closed_for_withdrawal

DUPLICATE_WINDOW = timedelta(days=30)
INITIAL_STATUS = "received"
WITHDRAWN = "withdrawn"
# A referral can be withdrawn until casework has finished with it.
WITHDRAWABLE = {"received", "accepted", "allocated"}
FINISHED_BY_CASEWORK = {"declined", "closed"}


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def normalise_name(name: str) -> str:
    """'  Jo-Anne  O'Néill ' and 'joanne oneill' match: case, accents and punctuation go.
    Letters of every script stay, so 'Мария' is not '' (nor the same as 'محمد')."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    kept = "".join(c for c in decomposed if c.isalpha() or c.isspace())
    return " ".join(kept.split())


def normalise_phone(phone: str) -> str:
    """+44 141 496 0000 and 0141 4960000 match."""
    digits = re.sub(r"\D", "", phone)
    return "0" + digits[2:] if digits.startswith("44") else digits


def match_keys(family_member: dict[str, Any]) -> list[str]:
    """Keys under which two referrals of the same person meet: name with date of birth,
    and telephone number. Hashed, so the index holds no readable personal data."""
    keys = []
    name = normalise_name(family_member["name"])
    if name and family_member.get("date_of_birth"):
        keys.append("name_dob:" + _digest(name, str(family_member["date_of_birth"])))
    phone = (family_member.get("contact") or {}).get("phone")
    if phone:
        keys.append("phone:" + _digest(normalise_phone(phone)))
    return keys


@dataclass(frozen=True)
class Duplicates:
    """The referrals a new one may duplicate. A partner is told only of its own: that
    another organisation referred the same person is itself special-category data."""

    match_keys: list[str]
    referral_ids: list[str]
    own_referral_ids: list[str]


def find_duplicates(
    keys: list[str], referred_on: date, partner_id: str, candidates: list[dict[str, Any]]
) -> Duplicates:
    """`candidates`: referrals sharing a match key, each with partner_id and referred_on."""
    earliest, latest = duplicate_window(referred_on)
    within = [c for c in candidates if earliest <= c["referred_on"] <= latest]
    return Duplicates(
        keys,
        [c["_id"] for c in within],
        [c["_id"] for c in within if c["partner_id"] == partner_id],
    )


def duplicate_window(referred_on: date) -> tuple[str, str]:
    """Referral dates (ISO strings) within which another referral is a possible duplicate."""
    return (
        (referred_on - DUPLICATE_WINDOW).isoformat(),
        (referred_on + DUPLICATE_WINDOW).isoformat(),
    )


def fingerprint(body: Any) -> str:
    """The same JSON body, however its keys are ordered or spaced, has the same print."""
    return _digest(json.dumps(body, sort_keys=True, separators=(",", ":")))


def referral_record(
    referral_id: str,
    partner: dict[str, Any],
    referral: dict[str, Any],
    received_at: datetime,
    duplicates: Duplicates,
    idempotency_key: str | None,
    request_fingerprint: str,
) -> dict[str, Any]:
    """The stored referral. `referral` is the JSON form of the validated request."""
    record = {
        "_id": referral_id,
        "partner_id": partner["_id"],
        "partner_name": partner["name"],
        "status": INITIAL_STATUS,
        "status_history": [{"status": INITIAL_STATUS, "at": received_at}],
        "received_at": received_at,
        "referred_on": referral["referred_on"],
        "referral": referral,
        "possible_duplicate_of": duplicates.referral_ids,
        "possible_duplicate_of_own": duplicates.own_referral_ids,
        "match_keys": duplicates.match_keys,
        "request_fingerprint": request_fingerprint,
    }
    if idempotency_key is not None:
        record["idempotency_key"] = idempotency_key
    return record


def referral_received_data(record: dict[str, Any]) -> dict[str, Any]:
    """The data of the ReferralReceived event for a new referral record."""
    return {
        **record["referral"],
        "referral_id": record["_id"],
        "partner_id": record["partner_id"],
        "partner_name": record["partner_name"],
        "received_at": record["received_at"].isoformat(),
        "possible_duplicate_of": record["possible_duplicate_of"],
    }


def referrer_view(event_type: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """What a case event means to the referrer: their referral's new status, when, and
    the words casework wrote for them; None when nothing they see changes."""
    if event_type == "CaseOpened":
        return {"status": "accepted", "at": data["at"]}
    if event_type == "CaseAllocated" and not data["reassigned"]:
        return {"status": "allocated", "at": data["at"]}
    if event_type == "CaseDeclined":
        return {"status": "declined", "at": data["at"], "reason": data["reason_for_referrer"]}
    if event_type == "CaseClosed":
        if closed_for_withdrawal(data):
            return None  # closed for the referrer's own withdrawal: nothing new to them
        return {"status": "closed", "at": data["at"], "outcome": data["outcome_for_referrer"]}
    if event_type == "CaseReopened":
        status = "allocated" if data["status"] == "allocated" else "accepted"
        return {"status": status, "at": data["at"]}
    return None


def as_first_answered(record: dict[str, Any]) -> dict[str, Any]:
    """The referral as its first 201 showed it: a retry with the same Idempotency-Key gets
    that answer again, whatever has become of the referral since (GET tells that)."""
    return {**record, "status": record["status_history"][0]["status"]}


class CannotWithdraw(Conflict):
    """The referral is past withdrawing: already withdrawn, declined or closed."""

    title = "Cannot be withdrawn"


_NOT_WITHDRAWABLE = {
    WITHDRAWN: "This referral has already been withdrawn.",
    "declined": "This referral was declined, so it can no longer be withdrawn.",
    "closed": "This referral's case is closed, so it can no longer be withdrawn.",
}


@dataclass(frozen=True)
class Withdrawal:
    """What withdrawing a referral read at `status_read` changes: the entry for its status
    history, and the data of its ReferralWithdrawn event."""

    status_read: str
    history_entry: dict[str, Any]
    event_data: dict[str, Any]


def withdraw(
    record: dict[str, Any], withdrawal: dict[str, Any], by: dict[str, str], at: datetime
) -> Withdrawal:
    """Withdraw `record` (the partner's own referral, as stored) for `withdrawal`'s reason
    and details, `by` ({"kind": "user" or "api", "name"}) at `at`."""
    status = record["status"]
    if status not in WITHDRAWABLE:
        raise CannotWithdraw(_NOT_WITHDRAWABLE.get(status, "This referral cannot be withdrawn."))
    given = {"reason": withdrawal["reason"]}
    if withdrawal.get("details"):
        given["details"] = withdrawal["details"]
    who = {"kind": by["kind"], "name": by["name"]}  # nothing more, whatever `by` holds
    return Withdrawal(
        status,
        {"status": WITHDRAWN, "at": at, **given, "by": who},
        {
            "referral_id": record["_id"],
            "partner_id": record["partner_id"],
            **given,
            "withdrawn_by": who,
            "at": at.isoformat(),
        },
    )


def is_withdrawn_as(record: dict[str, Any], withdrawal: dict[str, Any], by: dict[str, str]) -> bool:
    """Whether `record` was withdrawn already with this reason and details, by the same
    kind of caller: a retry (after a timeout, say) is answered as the first time."""
    if record["status"] != WITHDRAWN:
        return False
    entry = next(e for e in reversed(record["status_history"]) if e["status"] == WITHDRAWN)
    return (
        entry["reason"] == withdrawal["reason"]
        and entry.get("details") == (withdrawal.get("details") or None)
        and entry["by"] == {"kind": by["kind"], "name": by["name"]}
    )


def withdrawn_by_user(user: dict[str, Any]) -> dict[str, str]:
    """Who withdrew it, for a partner's user signed in to the web pages."""
    return {"kind": "user", "name": user["name"]}


def withdrawn_by_api(partner: dict[str, Any]) -> dict[str, str]:
    """Who withdrew it, for a partner's own system calling the API."""
    return {"kind": "api", "name": partner["name"]}
