"""A database that already holds a year's work: referrals, their cases, and the events
both published, as a service that has run for a while has them."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from datetime import timedelta

from pymongo import MongoClient
from pymongo.collection import Collection
from pymongo.database import Database

from backbone.clock import now
from backbone.events.envelope import new_event
from backbone.ids import new_event_id
from backbone.outbox import with_events
from bench.sample import stored_document
from services.casework import SOURCE as CASEWORK
from services.casework import domain as casework
from services.casework.repository import Cases
from services.referral.repository import Referrals

BATCH = 1_000


def referrals_and_cases(uri: str, prefix: str, count: int, partner: dict | None = None) -> None:
    """`count` referrals in intake's database and their cases in casework's, with the
    indexes the services make, every event already published."""
    client = MongoClient(uri, w="majority", journal=True)
    cases = Cases(client[f"{prefix}casework"])
    cases.ensure_indexes()
    long_ago = now() - timedelta(days=200)
    for stored in referrals(client[f"{prefix}referral"], count, partner):
        opened = []
        for document in stored:
            received = document["events"][0]["data"]
            case = casework.open_case(str(uuid.uuid4()), received, long_ago)
            event = new_event("CaseOpened", CASEWORK, case["_id"], casework.case_opened(case))
            opened.append(_published(with_events({**case, "version": 1}, event)))
        cases.cases.insert_many(opened, ordered=False)
    client.close()


def referrals(database: Database, count: int, partner: dict | None = None) -> Iterator[list]:
    """Stores `count` referrals in `database` as intake would have, a batch at a time, and
    yields each batch once stored."""
    collection = Referrals(database)
    collection.ensure_indexes()
    template = stored_document()
    long_ago = now() - timedelta(days=200)
    for start in range(0, count, BATCH):
        stored = []
        for n in range(start, min(count, start + BATCH)):
            referral_id = str(uuid.uuid4())
            document = _published(copy.deepcopy(template))
            document["_id"] = referral_id
            document["match_keys"] = [f"bench:{referral_id}"]  # nobody referred twice
            document["events"][0] |= {"id": new_event_id(), "subject": referral_id}
            document["events"][0]["data"]["referral_id"] = referral_id
            document["received_at"] = long_ago + timedelta(minutes=5 * n)
            if partner:
                document |= {"partner_id": partner["_id"], "partner_name": partner["name"]}
            stored.append(document)
        collection.collection.insert_many(stored, ordered=False)
        yield stored


def preloaded(uri: str, database: str, count: int) -> None:
    """`count` referrals in the named database (intake's, or the baseline's)."""
    client = MongoClient(uri, w="majority", journal=True)
    for _ in referrals(client[database], count):
        pass
    client.close()


def _published(document: dict) -> dict:
    document.pop("outbox_since", None)
    document["outbox"] = []
    return document


def delivered_messages(collection: Collection, template: dict, count: int) -> None:
    """`count` notifications already delivered, copies of `template` (a message as recorded),
    each of a referral of its own, as a notifications service that has run a while holds."""
    long_ago = now() - timedelta(days=30)
    attempt = {"started_at": long_ago, "finished_at": long_ago, "outcome": "delivered"}
    for start in range(0, count, BATCH):
        batch = []
        for _ in range(start, min(count, start + BATCH)):
            message_id = str(uuid.uuid4())
            batch.append(
                copy.deepcopy(template)
                | {
                    "_id": message_id,
                    "lane": f"bench:{message_id}",
                    "status": "delivered",
                    "created_at": long_ago,
                    "next_attempt_at": long_ago,
                    "delivered_at": long_ago,
                    "attempts": [attempt],
                }
            )
        collection.insert_many(batch, ordered=False)
