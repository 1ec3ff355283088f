"""Each service's event log, and its outbox.

Every event a service publishes is kept for good in the document of the aggregate it is
about (a referral, a case, a directory service), in `events`, in the order the aggregate
made them, written in the same atomic write as the change it announces. The outbox is the
part of that log not yet confirmed on the broker: copies of those events in `outbox`, and
in `outbox_since` the id of the oldest, which orders the relay's work across the service.
Event ids are UUIDv7, so they sort by time.

Putting logged events back into the outbox publishes them again, in the same order: that
is how a broker that lost its log is healed, and how any view is rebuilt by replay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from pymongo import ASCENDING
from pymongo.collection import Collection

from backbone.ids import event_time

# The bookkeeping fields of the event log: no answer shows them.
LOG_FIELDS = ("events", "outbox", "outbox_since")
WITHOUT_LOG = dict.fromkeys(LOG_FIELDS, 0)
PENDING = {"outbox_since": {"$gt": ""}}


def with_events(document: dict[str, Any], *envelopes: dict) -> dict[str, Any]:
    """The document to insert, carrying its first events."""
    if not envelopes:
        return dict(document)
    events = list(envelopes)
    return {**document, "events": events, "outbox": events, "outbox_since": events[0]["id"]}


def append_events(update: dict[str, Any], *envelopes: dict) -> dict[str, Any]:
    """`update` (MongoDB update operators) that also appends these events to the document's
    log and outbox."""
    events = list(envelopes)
    pushes = {**update.get("$push", {}), "events": {"$each": events}, "outbox": {"$each": events}}
    # $min keeps an older pending event's id; an empty outbox has no outbox_since at all.
    oldest = {**update.get("$min", {}), "outbox_since": events[0]["id"]}
    return {**update, "$push": pushes, "$min": oldest}


def ensure_index(collection: Collection) -> None:
    # A plain (not multikey) index: the relay pages through it quickly however many wait.
    collection.create_index([("outbox_since", ASCENDING)], name="outbox_since", sparse=True)
    # Multikey: finds the documents with events from an id on (the running count of the
    # log, a republish from a time) without reading every document.
    collection.create_index([("events.id", ASCENDING)], name="event_ids")
    if "outbox_pending" in collection.index_information():  # the multikey index it replaces
        collection.drop_index("outbox_pending")


def pending(collection: Collection, limit: int) -> list[dict[str, Any]]:
    """Documents with events to publish, the one with the oldest such event first."""
    found = collection.find(PENDING, {"outbox": 1}).sort("outbox_since", ASCENDING)
    return list(found.limit(limit))


def mark_published(collection: Collection, doc_ids: list[Any], event_ids: list[str]) -> None:
    """Take these events out of these documents' outboxes; they stay in the log."""
    collection.update_many(
        {"_id": {"$in": doc_ids}}, {"$pull": {"outbox": {"id": {"$in": event_ids}}}}
    )
    # Only where nothing is left: an event appended meanwhile keeps its document pending.
    collection.update_many(
        {"_id": {"$in": doc_ids}, "outbox": {"$size": 0}}, {"$unset": {"outbox_since": ""}}
    )


def put_back(collection: Collection, since: str = "", where: dict | None = None) -> int:
    """Put the logged events from event id `since` on ("": all of them) back into the
    outbox of the documents `where` selects, to be published again in their order; events
    still waiting from before `since` keep waiting. Answers how many documents changed."""
    waiting = {"$ifNull": ["$outbox", []]}
    before = {"$filter": {"input": waiting, "cond": {"$lt": ["$$this.id", since]}}}
    oldest = {"$min": {"$map": {"input": "$outbox", "in": "$$this.id"}}}
    result = collection.update_many(
        {"events.id": {"$gte": since}, **(where or {})},
        [
            {"$set": {"outbox": {"$concatArrays": [before, _logged_since(since)]}}},
            {"$set": {"outbox_since": oldest}},
        ],
    )
    return result.modified_count


def logged_ids(collection: Collection, since: str = "") -> list[Any]:
    """The ids of the documents with logged events from event id `since` on."""
    return [doc["_id"] for doc in collection.find({"events.id": {"$gte": since}}, {"_id": 1})]


def count_logged(collection: Collection, since: str = "") -> int:
    """How many logged events have ids from `since` on."""
    rows = collection.aggregate(
        [
            {"$match": {"events.id": {"$gte": since}}},
            {"$group": {"_id": None, "events": {"$sum": {"$size": _logged_since(since)}}}},
        ]
    )
    return next(iter(rows), {"events": 0})["events"]


class Tally(NamedTuple):
    events: int  # how many logged events
    newest: str | None  # the id of the newest of them


def tally_logged(collection: Collection, after: str, before: str) -> Tally:
    """The logged events with ids strictly between `after` and `before`."""
    between = {
        "$filter": {
            "input": "$events",
            "cond": {"$and": [{"$gt": ["$$this.id", after]}, {"$lt": ["$$this.id", before]}]},
        }
    }
    rows = collection.aggregate(
        [
            # The lower bound only: MongoDB cannot join two bounds on a multikey field
            # without $elemMatch, which the local database checks rather than looks up. The
            # events since the last count are few either way.
            {"$match": {"events.id": {"$gt": after}}},
            {"$project": {"_id": 0, "ids": {"$map": {"input": between, "in": "$$this.id"}}}},
            {
                "$group": {
                    "_id": None,
                    "events": {"$sum": {"$size": "$ids"}},
                    "newest": {"$max": {"$max": "$ids"}},
                }
            },
        ]
    )
    row = next(iter(rows), None)
    return Tally(row["events"], row["newest"]) if row else Tally(0, None)


def oldest_pending(collections: list[Collection]) -> str | None:
    """The id of the oldest event waiting in the outbox of `collections`, if any."""
    oldest = None
    for collection in collections:
        first = collection.find_one(PENDING, {"outbox_since": 1}, sort=[("outbox_since", 1)])
        if first is not None and (oldest is None or first["outbox_since"] < oldest):
            oldest = first["outbox_since"]
    return oldest


def _logged_since(since: str) -> dict[str, Any]:
    """The expression for a document's logged events from event id `since` on."""
    return {"$filter": {"input": "$events", "cond": {"$gte": ["$$this.id", since]}}}


class Backlog(NamedTuple):
    events: int  # how many events wait to be published
    oldest: datetime | None  # when the oldest of them was made


def backlog(collections: list[Collection]) -> Backlog:
    """The events of `collections` waiting to be published."""
    total = 0
    pipeline = [
        {"$match": PENDING},
        {"$group": {"_id": None, "events": {"$sum": {"$size": "$outbox"}}}},
    ]
    for collection in collections:
        for row in collection.aggregate(pipeline):
            total += row["events"]
    oldest = oldest_pending(collections)
    return Backlog(total, event_time(oldest) if oldest else None)
