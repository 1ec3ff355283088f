"""Intake's HTTP API: /v1/referrals."""

from __future__ import annotations

import math
import re
from typing import Any

from flask import current_app, g, request, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE

from backbone.clock import now
from backbone.errors import NotFound
from backbone.events.envelope import new_event
from backbone.events.referral import ReferralSchema
from backbone.ids import new_id
from backbone.problems import Problem
from services.referral import SOURCE, domain
from services.referral.repository import IdempotencyKeyTaken, Referrals
from services.referral.schemas import (
    ReferralCreatedSchema,
    ReferralDetailSchema,
    ReferralPageSchema,
    ReferralQuerySchema,
)

blp = Blueprint(
    "referrals",
    __name__,
    url_prefix="/v1/referrals",
    description="Partners post referrals and follow what became of each.",
)
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}\Z")
# Schema instances are built once: building one with nested schemas costs milliseconds.
REFERRAL = ReferralSchema()


def _referrals() -> Referrals:
    return current_app.extensions["referrals"]


@blp.post("")
@blp.arguments(REFERRAL)
@blp.response(201, ReferralCreatedSchema())
@blp.doc(
    parameters=[
        {
            "in": "header",
            "name": "Idempotency-Key",
            "schema": {"type": "string", "maxLength": 255},
            "description": "Retrying with the same key returns the first answer and "
            "stores nothing new; the same key with a different body is refused (422).",
        }
    ]
)
def create_referral(referral: dict[str, Any]):
    """Refer a family: stored at once, announced as ReferralReceived."""
    idempotency_key = request.headers.get("Idempotency-Key")
    if idempotency_key is not None and not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise Problem(
            400, "Bad Idempotency-Key", "Use 1 to 255 visible ASCII characters, e.g. a UUID."
        )
    referrals = _referrals()
    body = REFERRAL.dump(referral)
    request_print = domain.fingerprint(request.get_json())
    keys = domain.match_keys(body["family_member"])
    duplicates = domain.find_duplicates(
        keys, referral["referred_on"], g.caller["_id"], referrals.sharing_match_keys(keys)
    )
    record = domain.referral_record(
        new_id(), g.caller, body, now(), duplicates, idempotency_key, request_print
    )
    event = new_event(
        "ReferralReceived", SOURCE, record["_id"], domain.referral_received_data(record)
    )
    try:
        referrals.add(record, event)
    except IdempotencyKeyTaken as taken:
        if taken.existing["request_fingerprint"] != request_print:
            raise Problem(
                422,
                "Idempotency-Key already used",
                "This key was sent before with a different referral. Use a new key.",
            ) from None
        record = domain.as_first_answered(taken.existing)
    location = url_for("referrals.get_referral", referral_id=record["_id"])
    return record, 201, {"Location": location}


@blp.get("")
@blp.arguments(ReferralQuerySchema(), location="query", unknown=RAISE)
@blp.response(200, ReferralPageSchema())
def list_referrals(query: dict[str, Any]):
    """This partner's referrals, newest first, filtered by status and referral date."""
    page, per_page = query.pop("page"), query.pop("per_page")
    items, total = _referrals().page_for_partner(g.caller["_id"], query, page, per_page)
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total_items": total,
        "total_pages": math.ceil(total / per_page),
    }


@blp.get("/<referral_id>")
@blp.response(200, ReferralDetailSchema())
def get_referral(referral_id: str):
    """One of this partner's referrals. Another partner's referral is not found."""
    record = _referrals().for_partner(g.caller["_id"], referral_id)
    if record is None:
        raise NotFound("No referral of yours has this id.")
    return record
