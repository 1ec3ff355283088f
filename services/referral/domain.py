"""Intake's rules, free of I/O: duplicate matching, idempotency, the referral record."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

DUPLICATE_WINDOW = timedelta(days=30)
INITIAL_STATUS = "received"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def normalise_name(name: str) -> str:
    """'  Jo-Anne  O'Neill ' and 'joanne oneill' match: case, accents and punctuation go."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z ]", "", plain.casefold()).split())


def normalise_phone(phone: str) -> str:
    """+44 141 496 0000 and 0141 4960000 match."""
    digits = re.sub(r"\D", "", phone)
    return "0" + digits[2:] if digits.startswith("44") else digits


def match_keys(family_member: dict[str, Any]) -> list[str]:
    """Keys under which two referrals of the same person meet: name with date of birth,
    and telephone number. Hashed, so the index holds no readable personal data."""
    keys = []
    if family_member.get("date_of_birth"):
        name = normalise_name(family_member["name"])
        keys.append("name_dob:" + _digest(name, str(family_member["date_of_birth"])))
    phone = (family_member.get("contact") or {}).get("phone")
    if phone:
        keys.append("phone:" + _digest(normalise_phone(phone)))
    return keys


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
    possible_duplicate_of: list[str],
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
        "possible_duplicate_of": possible_duplicate_of,
        "match_keys": match_keys(referral["family_member"]),
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
