"""Intake's service layer: what a partner may do with referrals. The API and any other
caller come through here; the rules are in `domain`, the storage in `repository`."""

from __future__ import annotations

import math
from typing import Any

from backbone.clock import now
from backbone.errors import Conflict, NotAllowed, NotFound
from backbone.events.envelope import new_event
from backbone.events.referral import ReferralSchema
from backbone.ids import new_id
from services.referral import SOURCE, domain
from services.referral.repository import IdempotencyKeyTaken, Referrals

# Built once: building a schema with nested schemas costs milliseconds.
REFERRAL = ReferralSchema()
# Each attempt loses only to a change of the referral's status, of which there are few.
WITHDRAW_ATTEMPTS = 3


class IdempotencyKeyReused(NotAllowed):
    title = "Idempotency-Key already used"


class Intake:
    def __init__(self, referrals: Referrals) -> None:
        self.referrals = referrals

    def receive(
        self,
        partner: dict[str, Any],
        referral: dict[str, Any],
        as_sent: Any,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Store a referral (`referral` as loaded, `as_sent` the JSON as the partner sent
        it) and announce it as ReferralReceived, in one write. A retry with the same
        Idempotency-Key stores nothing new and answers as the first time."""
        body = REFERRAL.dump(referral)
        request_print = domain.fingerprint(as_sent)
        keys = domain.match_keys(body["family_member"])
        duplicates = domain.find_duplicates(
            keys,
            referral["referred_on"],
            partner["_id"],
            self.referrals.sharing_match_keys(keys),
        )
        record = domain.referral_record(
            new_id(), partner, body, now(), duplicates, idempotency_key, request_print
        )
        event = new_event(
            "ReferralReceived", SOURCE, record["_id"], domain.referral_received_data(record)
        )
        try:
            self.referrals.add(record, event)
        except IdempotencyKeyTaken as taken:
            if taken.existing["request_fingerprint"] != request_print:
                raise IdempotencyKeyReused(
                    "This key was sent before with a different referral. Use a new key."
                ) from None
            return domain.as_first_answered(taken.existing)
        return record

    def referral(self, partner: dict[str, Any], referral_id: str) -> dict[str, Any]:
        """One of this partner's referrals; another partner's is not found."""
        record = self.referrals.for_partner(partner["_id"], referral_id)
        if record is None:
            raise NotFound("No referral of yours has this id.")
        return record

    def withdraw(
        self,
        partner: dict[str, Any],
        referral_id: str,
        withdrawal: dict[str, Any],
        by: dict[str, str],
    ) -> dict[str, Any]:
        """Withdraw one of this partner's referrals and announce it as ReferralWithdrawn,
        in one write; answer the referral as changed. `withdrawal` is WithdrawalSchema's
        {reason, details}; `by` who asked (domain.withdrawn_by_user or _by_api). Another
        partner's referral is not found; one past withdrawing is refused (CannotWithdraw),
        but the same withdrawal again is answered as the first time, changing nothing."""
        for _ in range(WITHDRAW_ATTEMPTS):
            record = self.referral(partner, referral_id)
            if domain.is_withdrawn_as(record, withdrawal, by):
                return record
            change = domain.withdraw(record, withdrawal, by, now())
            event = new_event("ReferralWithdrawn", SOURCE, referral_id, change.event_data)
            if self.referrals.withdraw(referral_id, partner["_id"], change, event):
                return self.referral(partner, referral_id)
            # Its status changed since it was read (a case event, or a second click):
            # decided again on what it is now.
        raise Conflict("The referral is changing as you withdraw it: try again.")

    def page(
        self, partner: dict[str, Any], filters: dict[str, Any], page: int, per_page: int
    ) -> dict[str, Any]:
        """A page of this partner's referrals, newest first."""
        items, total = self.referrals.page_for_partner(partner["_id"], filters, page, per_page)
        return {
            "items": items,
            "page": page,
            "per_page": per_page,
            "total_items": total,
            "total_pages": math.ceil(total / per_page),
        }
