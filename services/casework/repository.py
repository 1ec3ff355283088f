"""Casework's own MongoDB database: cases (each with its events in its outbox), the view
of directory services it signposts to, and the audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

from backbone import mongo, outbox
from backbone.errors import Conflict
from backbone.events.envelope import new_event
from backbone.ids import new_id
from services.casework import SOURCE
from services.casework.domain import Change


class Cases:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.cases = db["cases"]
        self.services = db["directory_services"]
        self.audit = db["audit"]

    def ensure_indexes(self) -> None:
        self.cases.create_index("referral_id", unique=True)
        self.cases.create_index([("coordinator_id", ASCENDING), ("opened_at", DESCENDING)])
        self.cases.create_index([("status", ASCENDING), ("opened_at", DESCENDING)])
        # The cases still waiting for a first contact, read at every scrape: few of them.
        self.cases.create_index([("status", ASCENDING), ("first_contact_at", ASCENDING)])
        outbox.ensure_index(self.cases)
        self.audit.create_index([("case_id", ASCENDING), ("at", ASCENDING)])

    def in_transaction(self, write: Callable[[ClientSession], Any]) -> Any:
        """Run `write` as one transaction: a change, its record and its events together."""
        return mongo.in_transaction(self.db, write)

    def get(self, case_id: str) -> dict[str, Any] | None:
        return self.cases.find_one({"_id": case_id}, outbox.WITHOUT_LOG)

    def for_referral(self, referral_id: str, session: ClientSession) -> dict[str, Any] | None:
        return self.cases.find_one(
            {"referral_id": referral_id}, outbox.WITHOUT_LOG, session=session
        )

    def find(
        self,
        *,
        coordinator_id: str | None = None,
        status: str | None = None,
        local_authority: str | None = None,
        need: str | None = None,
    ) -> list[dict[str, Any]]:
        """Cases newest first, matching each filter given (None: any)."""
        query: dict[str, Any] = {}
        if coordinator_id is not None:
            query["coordinator_id"] = coordinator_id
        if status is not None:
            query["status"] = status
        if local_authority is not None:
            query["local_authority"] = local_authority
        if need is not None:
            query[f"needs.{need}"] = {"$exists": True}
        return list(self.cases.find(query, outbox.WITHOUT_LOG).sort("opened_at", DESCENDING))

    def waiting_for_coordinator(self) -> int:
        return self.cases.count_documents({"status": "open"})

    def without_first_contact(self) -> list[dict[str, Any]]:
        """Open and allocated cases with no contact recorded yet: just what
        `domain.waiting_for_first_contact` reads. A query for each status: the local
        database reads a `$in` with a null beside it from the whole collection."""
        fields = {"status": 1, "first_contact_at": 1, "referral.received_at": 1}
        return [
            case
            for status in ("open", "allocated")
            for case in self.cases.find({"status": status, "first_contact_at": None}, fields)
        ]

    def open_for_referral(self, case: dict[str, Any], event: dict, session: ClientSession) -> bool:
        """Open the case unless its referral has one already; answer whether it did."""
        if self.cases.find_one({"referral_id": case["referral_id"]}, {"_id": 1}, session=session):
            return False
        self.cases.insert_one(outbox.with_events({**case, "version": 1}, event), session=session)
        return True

    def apply(
        self,
        case: dict[str, Any],
        changes: list[Change],
        staff: dict[str, Any],
        at: datetime,
        session: ClientSession | None = None,
    ) -> None:
        """Write the changes, their events and their audit entries in one transaction
        (`session`'s, if one is under way), if the case is as it was read."""
        update: dict[str, Any] = {"$set": {}, "$push": {}, "$inc": {"version": 1}}
        events, timeline = [], []
        for change in changes:
            update["$set"].update(change.set)
            for name, entry in change.push.items():
                update["$push"].setdefault(name, {"$each": []})["$each"].append(entry)
            if change.event_type is not None:
                events.append(new_event(change.event_type, SOURCE, case["_id"], change.event_data))
            timeline.append(
                {
                    "at": at,
                    "by": staff["_id"],
                    "by_name": staff["name"],
                    "kind": change.timeline_kind,
                    "summary": change.summary,
                }
            )
        update["$push"]["timeline"] = {"$each": timeline}
        if not update["$set"]:
            del update["$set"]
        if events:
            update = outbox.append_events(update, *events)

        def write(session: ClientSession) -> None:
            result = self.cases.update_one(
                {"_id": case["_id"], "version": case["version"]}, update, session=session
            )
            if result.matched_count != 1:
                raise Conflict("The case changed meanwhile: read it and try again.")
            self.audit.insert_many(
                [_audit(case["_id"], staff, at, c.timeline_kind, c.summary) for c in changes],
                session=session,
            )

        if session is not None:
            write(session)
        else:
            self.in_transaction(write)

    def record_reads(self, case_ids: list[str], staff: dict, at: datetime, what: str) -> None:
        if case_ids:
            self.audit.insert_many([_audit(i, staff, at, "read", what) for i in case_ids])

    def record_refusal(self, case_id: str, staff: dict, at: datetime) -> None:
        self.audit.insert_one(_audit(case_id, staff, at, "refused", "not their case"))

    def audit_trail(self, case_id: str) -> list[dict[str, Any]]:
        return list(self.audit.find({"case_id": case_id}).sort("at", ASCENDING))

    # ---- the view of directory services ---------------------------------------------

    def service(self, service_id: str) -> dict[str, Any] | None:
        return self.services.find_one({"_id": service_id})

    def active_services(self, need: str | None = None) -> list[dict[str, Any]]:
        """The directory's current services, for `need` if given."""
        query: dict[str, Any] = {"status": "active"}
        if need is not None:
            query["needs"] = need
        return list(self.services.find(query))

    def keep_service(self, service: dict[str, Any], session: ClientSession) -> None:
        self.services.replace_one({"_id": service["_id"]}, service, upsert=True, session=session)


def _audit(case_id: str, staff: dict, at: datetime, action: str, what: str) -> dict[str, Any]:
    return {
        "_id": new_id(),
        "case_id": case_id,
        "at": at,
        "staff_id": staff["_id"],
        "staff_name": staff["name"],
        "action": action,
        "what": what,
    }
