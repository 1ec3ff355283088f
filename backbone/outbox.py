"""The transactional outbox.

A state change and its events are written in one atomic write: the events ride in the
changed document's `outbox` array. The relay publishes pending events afterwards and then
pulls exactly those it published, so a crash between the two publishes an event again
(at least once; consumers are idempotent) and never loses one.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from pymongo import ASCENDING
from pymongo.collection import Collection

from backbone import metrics
from backbone.events.catalogue import event_type
from backbone.events.envelope import CONTENT_TYPE, encode

log = logging.getLogger(__name__)

# Event ids are non-empty strings, so this matches exactly the documents with pending
# events, through the multikey index on outbox.id.
PENDING = {"outbox.id": {"$gt": ""}}


def with_events(document: dict[str, Any], *envelopes: dict) -> dict[str, Any]:
    """The document to insert, carrying its new events."""
    return {**document, "outbox": list(envelopes)}


def push_events(*envelopes: dict) -> dict[str, Any]:
    """The update operator that adds events to an existing document's outbox."""
    return {"$push": {"outbox": {"$each": list(envelopes)}}}


def ensure_index(collection: Collection) -> None:
    collection.create_index([("outbox.id", ASCENDING)], name="outbox_pending")


def backlog(collections: list[Collection]) -> int:
    """How many events wait to be published."""
    pipeline = [
        {"$match": PENDING},
        {"$group": {"_id": None, "events": {"$sum": {"$size": "$outbox"}}}},
    ]
    total = 0
    for collection in collections:
        for row in collection.aggregate(pipeline):
            total += row["events"]
    return total


class OutboxRelay:
    """Publishes the pending events of some collections to Kafka, oldest first."""

    def __init__(
        self, collections: list[Collection], producer: KafkaProducer, batch_size: int = 100
    ) -> None:
        self.collections = collections
        self.producer = producer
        self.batch_size = batch_size

    def relay_once(self) -> int:
        """Publish one batch from each collection; answer how many events went out."""
        return sum(self._relay_batch(collection) for collection in self.collections)

    def run(self, stop: threading.Event, poll_seconds: float) -> None:
        while not stop.is_set():
            try:
                published = self.relay_once()
            except KafkaError as error:
                log.warning("outbox relay cannot reach the broker", extra={"error": repr(error)})
                published = 0
            # A full batch means more are waiting; otherwise let events gather for a poll
            # interval, so that each round trip to the database carries many of them.
            if published < self.batch_size:
                stop.wait(poll_seconds)

    def _relay_batch(self, collection: Collection) -> int:
        documents = list(
            collection.find(PENDING, {"outbox": 1})
            .sort("outbox.id", ASCENDING)
            .limit(self.batch_size)
        )
        if not documents:
            return 0
        sent = [(doc["_id"], self._send(doc["_id"], doc["outbox"])) for doc in documents]
        # Every send settles (delivered, or failed after the delivery timeout) before
        # anything is marked or sent again: an outage delays events, it does not copy them.
        self.producer.flush()
        published_ids = []
        for _, futures in sent:
            # Keep an aggregate's order: stop at its first event that did not go out.
            for event_id, future in futures:
                if not (future.is_done and future.succeeded()):
                    break
                published_ids.append(event_id)
        if published_ids:
            collection.update_many(
                {"_id": {"$in": [doc_id for doc_id, _ in sent]}},
                {"$pull": {"outbox": {"id": {"$in": published_ids}}}},
            )
        metrics.EVENTS_PUBLISHED.inc(len(published_ids))
        failed = sum(len(futures) for _, futures in sent) - len(published_ids)
        if failed:
            metrics.EVENTS_PUBLISH_FAILED.inc(failed)
            log.warning("outbox events not yet published", extra={"count": failed})
        return len(published_ids)

    def _send(self, doc_id: Any, envelopes: list[dict]) -> list[tuple[str, Any]]:
        """Send a document's events in order; none if one has a type this relay does not
        know (a newer service wrote it during a rolling deploy): they wait for a relay
        that does, and the other documents' events still go out."""
        try:
            topics = [event_type(envelope["type"]).topic for envelope in envelopes]
        except LookupError as error:
            metrics.EVENTS_PUBLISH_FAILED.inc(len(envelopes))
            log.error(
                "outbox event of unknown type", extra={"document": str(doc_id), "error": str(error)}
            )
            return []
        return [
            (
                envelope["id"],
                self.producer.send(
                    topic,
                    key=envelope["subject"].encode(),
                    value=encode(envelope),
                    headers=[("content-type", CONTENT_TYPE.encode())],
                ),
            )
            for topic, envelope in zip(topics, envelopes, strict=True)
        ]
