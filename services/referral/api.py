"""Intake's HTTP API: /v1/referrals."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, g, request, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE

from backbone.problems import Problem
from services.referral import domain
from services.referral.operations import REFERRAL, Intake
from services.referral.schemas import (
    ReferralCreatedSchema,
    ReferralDetailSchema,
    ReferralPageSchema,
    ReferralQuerySchema,
    WithdrawalSchema,
)

blp = Blueprint(
    "referrals",
    __name__,
    url_prefix="/v1/referrals",
    description="Partners post referrals and follow what became of each.",
)
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}\Z")


def _intake() -> Intake:
    return current_app.extensions["intake"]


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
    record = _intake().receive(g.caller, referral, request.get_json(), idempotency_key)
    location = url_for("referrals.get_referral", referral_id=record["_id"])
    return record, 201, {"Location": location}


@blp.get("")
@blp.arguments(ReferralQuerySchema(), location="query", unknown=RAISE)
@blp.response(200, ReferralPageSchema())
def list_referrals(query: dict[str, Any]):
    """This partner's referrals, newest first, filtered by status and referral date."""
    page, per_page = query.pop("page"), query.pop("per_page")
    return _intake().page(g.caller, query, page, per_page)


@blp.get("/<referral_id>")
@blp.response(200, ReferralDetailSchema())
def get_referral(referral_id: str):
    """One of this partner's referrals. Another partner's referral is not found."""
    return _intake().referral(g.caller, referral_id)


@blp.post("/<referral_id>/withdrawal")
@blp.arguments(WithdrawalSchema())
@blp.response(200, ReferralDetailSchema())
@blp.alt_response(404, "NOT_FOUND")  # another partner's referral too
@blp.alt_response(409, "CONFLICT")  # already withdrawn, declined or closed
def withdraw_referral(withdrawal: dict[str, Any], referral_id: str):
    """Withdraw a referral, with a reason.

    For when the family changed their mind, or it was sent by mistake. Announced as
    ReferralWithdrawn: casework closes the case as withdrawn and the coordinator sees
    why. A referral already withdrawn, declined or closed cannot be (409); the same
    withdrawal sent again (a retry) is answered as the first time, and changes nothing."""
    return _intake().withdraw(g.caller, referral_id, withdrawal, domain.withdrawn_by_api(g.caller))
