"""Referrals in intake's own MongoDB database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from backbone import outbox
from services.referral.domain import FINISHED_BY_CASEWORK, WITHDRAWN, Withdrawal

# Bookkeeping no answer needs; the response schemas decide what a partner sees.
INTERNAL_FIELDS = {
    **outbox.WITHOUT_LOG,
    "match_keys": 0,
    "request_fingerprint": 0,
    "idempotency_key": 0,
    "possible_duplicate_of": 0,
    "withdrawn_at": 0,
}


class IdempotencyKeyTaken(Exception):
    """This partner already used the Idempotency-Key; `existing` is that referral."""

    def __init__(self, existing: dict[str, Any]) -> None:
        super().__init__("idempotency key already used")
        self.existing = existing


class Referrals:
    def __init__(self, db: Database) -> None:
        self.collection = db["referrals"]

    def ensure_indexes(self) -> None:
        c = self.collection
        c.create_index([("partner_id", ASCENDING), ("received_at", DESCENDING)])
        c.create_index([("partner_id", ASCENDING), ("referred_on", DESCENDING)])
        c.create_index("match_keys")
        c.create_index("received_at")  # the referrals of this month, read at every scrape
        c.create_index("withdrawn_at", sparse=True)  # and those withdrawn this month
        c.create_index(
            [("partner_id", ASCENDING), ("idempotency_key", ASCENDING)],
            name="idempotency_key",
            unique=True,
            partialFilterExpression={"idempotency_key": {"$exists": True}},
        )
        outbox.ensure_index(c)

    def add(self, record: dict[str, Any], *events: dict) -> None:
        """Store a new referral and its events in one atomic write."""
        try:
            self.collection.insert_one(outbox.with_events(record, *events))
        except DuplicateKeyError as error:
            if "idempotency_key" not in str(error.details):
                raise
            existing = self.collection.find_one(
                {"partner_id": record["partner_id"], "idempotency_key": record["idempotency_key"]}
            )
            raise IdempotencyKeyTaken(existing) from None

    def withdraw(
        self, referral_id: str, partner_id: str, withdrawal: Withdrawal, event: dict
    ) -> bool:
        """Mark the referral withdrawn, with its event, in one write, if its status is
        still the one the withdrawal was decided on; answer whether it was. A case event
        followed meanwhile, or a second click, finds the status changed and writes nothing."""
        entry = withdrawal.history_entry
        update = {
            "$set": {"status": entry["status"], "withdrawn_at": entry["at"]},
            "$push": {"status_history": entry},
        }
        result = self.collection.update_one(
            {"_id": referral_id, "partner_id": partner_id, "status": withdrawal.status_read},
            outbox.append_events(update, event),
        )
        return result.modified_count == 1

    def sharing_match_keys(self, keys: list[str]) -> list[dict[str, Any]]:
        """Referrals, by any partner, under any of these match keys."""
        if not keys:
            return []
        # Dates are compared by the caller: a person has few referrals, and a compound
        # multikey range made SecantusDB scan the whole collection.
        return list(
            self.collection.find({"match_keys": {"$in": keys}}, {"partner_id": 1, "referred_on": 1})
        )

    def follow_case(self, referral_id: str, change: dict[str, Any], session: ClientSession) -> None:
        """Record what casework did, as the referrer sees it: a new status, when, and the
        words written for them (a reason to decline, an outcome).

        Once a referral is withdrawn, casework decides, not the services' clocks. A case it
        declines or closes (not for the withdrawal: referrer_view leaves that out) did not
        have the withdrawal honoured (the two crossed): the referral takes the case's
        status from then on, the withdrawal staying in its history as asked for after.
        Otherwise it stays withdrawn: a case event from before the withdrawal, delivered
        after it, joins its history in time order, and the case closed for the withdrawal
        (`withdrawal_honoured`) tells the referrer nothing new."""
        never_withdrawn = self.collection.update_one(
            {"_id": referral_id, "withdrawn_at": None},
            {"$set": {"status": change["status"]}, "$push": {"status_history": change}},
            session=session,
        )
        if never_withdrawn.matched_count:
            return
        in_order = {"status_history": {"$each": [change], "$sort": {"at": ASCENDING}}}
        takes_status: dict[str, Any] = {"_id": referral_id}
        if change["status"] not in FINISHED_BY_CASEWORK:
            takes_status["status"] = {"$ne": WITHDRAWN}  # still withdrawn: it stays so
        taken = self.collection.update_one(
            takes_status,
            {"$set": {"status": change["status"]}, "$push": in_order},
            session=session,
        )
        if taken.matched_count == 0:
            self.collection.update_one(
                {"_id": referral_id, "status": WITHDRAWN, "withdrawn_at": {"$gt": change["at"]}},
                {"$push": in_order},
                session=session,
            )

    def withdrawal_honoured(self, referral_id: str, session: ClientSession) -> None:
        """Casework closed the case for the withdrawal: the referral is withdrawn, even if
        a decline it had before (then reopened) was heard of since."""
        self.collection.update_one(
            {"_id": referral_id, "withdrawn_at": {"$ne": None}, "status": {"$ne": WITHDRAWN}},
            {"$set": {"status": WITHDRAWN}},
            session=session,
        )

    def received_by_team(self, since: datetime) -> dict[str, int]:
        """How many referrals each referring team made were received from `since` on."""
        return self._by_team({"received_at": {"$gte": since}})

    def withdrawn_by_team(self, since: datetime) -> dict[str, int]:
        """How many referrals each referring team made were withdrawn from `since` on (one
        whose case had finished first, so that it came too late, is not withdrawn)."""
        return self._by_team({"withdrawn_at": {"$gte": since}, "status": WITHDRAWN})

    def _by_team(self, query: dict[str, Any]) -> dict[str, int]:
        rows = self.collection.aggregate(
            [
                {"$match": query},
                {"$group": {"_id": "$referral.referrer.team", "referrals": {"$sum": 1}}},
            ]
        )
        return {row["_id"]: row["referrals"] for row in rows}

    def for_partner(self, partner_id: str, referral_id: str) -> dict[str, Any] | None:
        return self.collection.find_one(
            {"_id": referral_id, "partner_id": partner_id}, INTERNAL_FIELDS
        )

    def page_for_partner(
        self,
        partner_id: str,
        filters: dict[str, Any],
        page: int,
        per_page: int,
    ) -> tuple[list[dict[str, Any]], int]:
        query: dict[str, Any] = {"partner_id": partner_id}
        if "status" in filters:
            query["status"] = filters["status"]
        dates = {}
        if "referred_from" in filters:
            dates["$gte"] = filters["referred_from"].isoformat()
        if "referred_to" in filters:
            dates["$lte"] = filters["referred_to"].isoformat()
        if dates:
            query["referred_on"] = dates
        total = self.collection.count_documents(query)
        items = list(
            self.collection.find(query, INTERNAL_FIELDS)
            .sort([("received_at", DESCENDING), ("_id", ASCENDING)])
            .skip((page - 1) * per_page)
            .limit(per_page)
        )
        return items, total
