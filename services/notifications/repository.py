"""Notifications' own database: its views of referrals, partners and staff (what it needs
to address messages), the partners' webhook endpoints, and the messages themselves, each
with its status and attempts and the NotificationSent/Failed events of its log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.database import Database

from backbone import outbox
from backbone.api_keys import KeyHolders

# Message statuses. `waiting`: behind an earlier message of its lane; `held`: kept for the
# recipient's daily digest; `digested`: sent in one.
WAITING, QUEUED, SENDING, DELIVERED, FAILED = "waiting", "queued", "sending", "delivered", "failed"
HELD, DIGESTED = "held", "digested"
UNFINISHED = [WAITING, QUEUED, SENDING]
CLAIM_TRIES = 5  # messages another sending thread took first, before giving the turn up


class PartnerKeys(KeyHolders):
    """Partners as intake announces them (PartnerChanged): a key is recognised by its
    hash, so a partner uses its one intake key here too."""

    def __init__(self, db: Database) -> None:
        super().__init__(db["partners"], "ftk_")

    def keep(self, data: dict[str, Any], session: ClientSession) -> None:
        self.collection.update_one(
            {"_id": data["partner_id"]},
            {
                "$set": {
                    "name": data["name"],
                    "api_key_hash": data["api_key_hash"],
                    "revoked_at": None if data["active"] else data["at"],
                    "roles": ["partner"],
                }
            },
            upsert=True,
            session=session,
        )

    def by_id(self, partner_id: str, session: ClientSession | None = None) -> dict | None:
        return self.collection.find_one({"_id": partner_id}, {"api_key_hash": 0}, session=session)

    def set_contact(self, partner_id: str, email: str | None) -> None:
        self.collection.update_one({"_id": partner_id}, {"$set": {"contact_email": email}})


class Store:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.referrals = db["referrals"]
        self.staff = db["staff"]
        self.endpoints = db["endpoints"]
        self.messages = db["messages"]
        self.daily_runs = db["daily_runs"]
        self.partners = PartnerKeys(db)

    def ensure_indexes(self) -> None:
        self.partners.ensure_indexes()
        m = self.messages
        m.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])
        m.create_index([("lane", ASCENDING), ("seq", ASCENDING)])
        m.create_index([("address", ASCENDING), ("created_at", DESCENDING)])
        m.create_index([("recipient", ASCENDING), ("status", ASCENDING)])
        m.create_index([("created_at", DESCENDING)])
        # The failures of the last day, read at every scrape (and the managers' list of them).
        m.create_index([("status", ASCENDING), ("created_at", DESCENDING)])
        outbox.ensure_index(m)
        self.endpoints.create_index("partner_id")
        self.referrals.create_index([("first_contact_at", ASCENDING), ("status", ASCENDING)])

    # ---- the views --------------------------------------------------------------------

    def referral(self, referral_id: str, session: ClientSession | None = None) -> dict | None:
        return self.referrals.find_one({"_id": referral_id}, session=session)

    def keep_referral(self, referral_id: str, fields: dict, session: ClientSession) -> dict:
        return self.referrals.find_one_and_update(
            {"_id": referral_id},
            {"$set": fields},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )

    def park(self, referral_id: str, event: dict, session: ClientSession) -> None:
        """A case event that arrived before its referral: kept until the referral does."""
        self.referrals.update_one(
            {"_id": referral_id}, {"$push": {"parked": event}}, upsert=True, session=session
        )

    def take_parked(self, referral_id: str, session: ClientSession) -> list[dict]:
        found = self.referrals.find_one_and_update(
            {"_id": referral_id}, {"$unset": {"parked": ""}}, session=session
        )
        return sorted((found or {}).get("parked", []), key=lambda e: e["id"])

    def open_referrals_without_contact(self) -> list[dict]:
        return list(
            self.referrals.find(
                {"first_contact_at": None, "received_at": {"$ne": None}},
                {"received_at": 1, "status": 1, "first_contact_at": 1},
            )
        )

    def keep_staff(self, data: dict[str, Any], session: ClientSession) -> None:
        fields = {k: data[k] for k in ("name", "email", "roles", "active")}
        self.staff.update_one(
            {"_id": data["staff_id"]}, {"$set": fields}, upsert=True, session=session
        )

    def all_staff(self, session: ClientSession | None = None) -> list[dict]:
        return list(self.staff.find({"active": True}, session=session))

    def staff_member(self, staff_id: str) -> dict | None:
        return self.staff.find_one({"_id": staff_id})

    def set_preferences(self, staff_id: str, preferences: dict[str, str]) -> bool:
        found = self.staff.update_one({"_id": staff_id}, {"$set": {"preferences": preferences}})
        return found.matched_count == 1

    def partner_endpoints(self, partner_id: str, session: ClientSession | None = None) -> list:
        return list(
            self.endpoints.find({"partner_id": partner_id}, session=session).sort("created_at", 1)
        )

    # ---- messages -----------------------------------------------------------------------

    def add_messages(self, documents: list[dict], session: ClientSession | None = None) -> None:
        """Record each message before anything is sent: made once, whatever redelivery.
        A message joins the end of its lane: queued if the lane is clear, else waiting."""
        for document in documents:
            ahead = self.messages.find_one(
                {"lane": document["lane"], "status": {"$in": UNFINISHED}},
                {"_id": 1},
                session=session,
            )
            if ahead is not None and document["status"] == QUEUED:
                document = {**document, "status": WAITING}
            self.messages.update_one(
                {"_id": document["_id"]}, {"$setOnInsert": document}, upsert=True, session=session
            )

    def claim(self, at: datetime, lease: timedelta) -> dict | None:
        """The next message due, marked as being sent (an attempt begun) until the lease
        ends. Found by an indexed query, then taken by an update that holds only while it
        is still queued (another thread may take it first: then the next one is tried). A
        findAndModify would do both at once, but the local database runs one as a scan of
        every message ever stored: delivery slowed as the store grew (bench/notifications)."""
        due = {"status": QUEUED, "next_attempt_at": {"$lte": at}}
        for _ in range(CLAIM_TRIES):
            found = self.messages.find_one(
                due, outbox.WITHOUT_LOG, sort=[("next_attempt_at", ASCENDING)]
            )
            if found is None:
                return None
            attempt = {"started_at": at}
            # Only the message as read: its outcome is written back as the attempts read
            # and this one, so a read from before the last outcome was recorded (seen once:
            # an attempt missing from the record) must not claim it.
            attempts_read = len(found["attempts"])
            taken = self.messages.update_one(
                {"_id": found["_id"], "status": QUEUED, "attempts": {"$size": attempts_read}},
                {
                    "$set": {"status": SENDING, "lease_until": at + lease},
                    "$push": {"attempts": attempt},
                },
            )
            if taken.modified_count == 1:
                found["attempts"] = [*found.get("attempts", []), attempt]
                return {**found, "status": SENDING, "lease_until": at + lease}
        return None

    def take_back_interrupted(self, at: datetime) -> None:
        """A message whose lease ended was interrupted mid-send (its worker died): queued
        again, to be sent again with the same id (the sender's sweep calls this)."""
        self.messages.update_many(
            {"status": SENDING, "lease_until": {"$lt": at}},
            {"$set": {"status": QUEUED, "next_attempt_at": at}},
        )

    def finish(self, message: dict, update: dict, *events: dict) -> None:
        """Record an attempt's outcome (and the message's event, if final); a final one
        lets the next message of its lane go."""
        query = {"_id": message["_id"], "status": SENDING}
        change = outbox.append_events(update, *events) if events else update
        self.messages.update_one(query, change)
        if update.get("$set", {}).get("status") in (DELIVERED, FAILED):
            self.release_lane(message["lane"])

    def release_lane(self, lane: str) -> None:
        if self.messages.find_one({"lane": lane, "status": {"$in": [QUEUED, SENDING]}}):
            return
        nxt = self.messages.find_one({"lane": lane, "status": WAITING}, sort=[("seq", 1)])
        if nxt is not None:
            self.messages.update_one(
                {"_id": nxt["_id"], "status": WAITING}, {"$set": {"status": QUEUED}}
            )

    def release_stuck_lanes(self) -> None:
        """A lane whose head finished while a message joined it behind (two processes at
        once) is set going here, by the sender's sweep."""
        for lane in self.messages.distinct("lane", {"status": WAITING}):
            self.release_lane(lane)

    def oldest_queued(self) -> datetime | None:
        first = self.messages.find_one(
            {"status": {"$in": [QUEUED, WAITING]}}, {"created_at": 1}, sort=[("created_at", 1)]
        )
        return first["created_at"] if first else None

    def failed_by_channel(self, since: datetime) -> dict[str, int]:
        """How many messages made from `since` on have failed, on each channel."""
        rows = self.messages.aggregate(
            [
                {"$match": {"status": FAILED, "created_at": {"$gte": since}}},
                {"$group": {"_id": "$channel", "messages": {"$sum": 1}}},
            ]
        )
        return {row["_id"]: row["messages"] for row in rows}

    def recent(self, query: dict, limit: int = 50) -> list[dict]:
        hidden = {**outbox.WITHOUT_LOG, "email": 0}
        return list(self.messages.find(query, hidden).sort("created_at", -1).limit(limit))
