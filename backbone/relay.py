"""The outbox relay: publishes a service's pending events to Kafka, oldest first, and heals
a broker that lost them.

After each batch it takes exactly the confirmed events out of the outbox, so a crash in
between publishes some of them again (at least once; consumers are idempotent) and loses
none. It records where its last batch landed on each partition of its topic. A topic that
is missing, was made again (a new topic id), or ends before that record has lost what the
relay gave it: the relay then puts the whole event log back into the outbox and publishes
it again, each aggregate's events in order (a batch of documents at a time, each once the
last is published, so the outbox stays short). A producer that fails (a broker restarted,
a fenced producer id) is closed and made again after a pause that grows while the
failures last.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from itertools import islice
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError

from backbone import kafka, logs, metrics, outbox, tracing
from backbone.clock import now
from backbone.events.catalogue import event_type
from backbone.events.envelope import CONTENT_TYPE, encode
from backbone.relay_lease import RelayLease
from backbone.settings import Settings

log = logging.getLogger(__name__)

STATE = "outbox_relay"  # the collection of the relay's records, in the service's database
REPUBLISH = "republish"


class PublishFailed(KafkaError):
    """Some events of a batch were not confirmed by the broker; they stay pending."""


class Backoff:
    """Pauses that double, with jitter, from `first` up to `most` seconds."""

    def __init__(self, first: float, most: float) -> None:
        self.first, self.most = first, most
        self.reset()

    def reset(self) -> None:
        self._next = self.first

    def next(self) -> float:
        pause = self._next
        self._next = min(self.most, self._next * 2)
        return pause * random.uniform(0.75, 1.25)


def request_republish(db: Database, since: str, reason: str) -> None:
    """Ask the service's relay to publish again every logged event from event id `since`
    ("": all). The relay acts on it at its next check of the broker; an earlier pending
    request that reaches further back is kept, and the log is put back from its start."""
    db[STATE].update_one(
        {"_id": REPUBLISH},
        {"$min": {"since": since}, "$set": {"at": now(), "reason": reason, "next_part": 0}},
        upsert=True,
    )


class OutboxRelay:
    """Publishes the pending events of `collections` to `topics` (the service's own)."""

    def __init__(self, collections: list[Collection], settings: Settings, topics: list[str]):
        self.collections = collections
        self.settings = settings
        self.topics = topics
        self.state = collections[0].database[STATE]
        self.lease = RelayLease(self.state, settings.relay_lease_seconds)
        self._holding = False
        self.producer: KafkaProducer | None = None
        self._admin: KafkaAdminClient | None = None
        self._topic_ids: dict[str, str] = {}
        self._hold_until = 0.0
        # While a republish runs: the request, and per collection the ids of the documents
        # whose logs are still to be put back into the outbox.
        self._request_at: Any = None
        self._to_put_back: dict[str, dict[Any, None]] = {}
        self._warnings = logs.Throttle(settings.warning_interval_seconds)

    def run(self, stop: threading.Event) -> None:
        backoff = Backoff(0.5, self.settings.relay_backoff_max_seconds)
        next_check = 0.0
        try:
            while not stop.is_set():
                try:
                    if not self._hold_lease():
                        metrics.loop_done()  # standing by is this task's work for now
                        stop.wait(self.settings.relay_lease_seconds / 5)
                        continue
                    if time.monotonic() >= next_check:
                        self.check_broker()
                        next_check = time.monotonic() + self.settings.broker_check_seconds
                    published = 0
                    if time.monotonic() >= self._hold_until:
                        published = self.relay_once()
                        # The next part of the log once the last has gone out.
                        if self._to_put_back and published < self.settings.outbox_batch_size:
                            self.put_back_more()
                except (KafkaError, PyMongoError) as error:
                    self._warnings.warning(
                        log, "outbox relay cannot publish yet", error=type(error).__name__
                    )
                    if isinstance(error, KafkaError):
                        self.close()  # a failed producer stays failed: make a new one
                    next_check = 0.0  # and look at the broker before publishing again
                    stop.wait(backoff.next())
                    continue
                backoff.reset()
                metrics.loop_done()
                # A full batch means more are waiting; otherwise let events gather for a
                # poll interval, so that each round trip to the database carries many.
                if published < self.settings.outbox_batch_size:
                    stop.wait(self.settings.outbox_poll_seconds)
        finally:
            self.close()
            self.lease.release()

    def _hold_lease(self) -> bool:
        """Whether this relay may publish now; says so in the log when that changes."""
        holding = self.lease.hold()
        if holding and not self._holding:
            log.info("outbox relay publishing: it holds the lease")
        elif self._holding and not holding:
            log.info("outbox relay standing by: another relay holds the lease")
        self._holding = holding
        return holding

    def close(self) -> None:
        if self.producer is not None:
            self.producer.close(timeout=1)
            self.producer = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def _admin_client(self) -> KafkaAdminClient:
        if self._admin is None:
            self._admin = kafka.admin(self.settings)
        return self._admin

    # ---- healing -----------------------------------------------------------------------

    def check_broker(self) -> None:
        """Make the relay's topics as configured, put the event log back into the outbox
        if the broker lost what it was given, and act on any request to republish."""
        if kafka.ensure_topics(self.settings, self.topics, self._admin_client()):
            # Consumers read a topic made again from its start once they see it empty;
            # give them a round of their own checks to see it before it fills up.
            self._hold_until = time.monotonic() + self.settings.broker_check_seconds
        found = kafka.describe(self._admin_client(), self.topics)
        lost = [topic for topic in self.topics if self._lost(topic, found.get(topic))]
        self._topic_ids = {name: topic.id for name, topic in found.items()}
        if lost:
            metrics.BROKER_LOSSES.inc()
            log.warning(
                "the broker lost published events: publishing them again", extra={"topics": lost}
            )
            # What the broker confirmed before is moot; then ask for all of it again.
            self.state.delete_many({"_id": {"$in": [f"topic:{t}" for t in lost]}})
            request_republish(self.state.database, "", f"the broker lost {', '.join(lost)}")
        self._republish_if_requested()

    def _lost(self, topic: str, found: kafka.Topic | None) -> bool:
        record = self.state.find_one({"_id": f"topic:{topic}"})
        if record is None:
            return False  # nothing confirmed since the log was last put back
        if found is None or found.id != record["topic_id"]:
            return True
        firsts = {int(p): offset for p, offset in record.get("last_round", {}).items()}
        if any(p >= found.partitions for p in firsts):
            return True
        # Each recorded offset is the first of a batch, so the broker's end offset is
        # beyond it wherever the batch is still there.
        ends = kafka.end_offsets(self._admin_client(), topic, list(firsts))
        return any(ends.get(p, 0) <= first for p, first in firsts.items())

    def _republish_if_requested(self) -> None:
        """Start on a request to republish: list the documents with events to put back (one
        pass over each collection; the local database reads a whole collection for any
        range of ids, so it is read once, not once per part)."""
        request = self.state.find_one({"_id": REPUBLISH})
        if request is None or request["at"] == self._request_at:
            return
        self._request_at = request["at"]
        self._to_put_back = {
            collection.name: dict.fromkeys(outbox.logged_ids(collection, request["since"]))
            for collection in self.collections
        }
        log.info(
            "putting events back into the outbox to publish again",
            extra={"since": request["since"] or "the beginning", "reason": request["reason"]},
        )
        self.put_back_more()

    def put_back_more(self) -> bool:
        """Put about a batch's worth of documents' logs back into the outbox, once the relay
        has published the last, so the outbox stays short (the local database reads every
        pending document to find the oldest); answer whether any remain."""
        request = self.state.find_one({"_id": REPUBLISH})
        if request is None:
            self._to_put_back = {}
            return False
        for collection in self.collections:
            waiting = self._to_put_back.get(collection.name, {})
            batch = list(islice(waiting, self.settings.outbox_batch_size))
            self._put_back(collection, request["since"], batch)
        if any(self._to_put_back.values()):
            return True
        self._to_put_back = {}
        self.state.delete_one({"_id": REPUBLISH, "at": request["at"]})  # not a newer one
        log.info("every event put back into the outbox", extra={"since": request["since"]})
        return False

    def _put_back(self, collection: Collection, since: str, doc_ids: list[Any]) -> None:
        if doc_ids:
            outbox.put_back(collection, since, {"_id": {"$in": doc_ids}})
        waiting = self._to_put_back.get(collection.name, {})
        for doc_id in doc_ids:
            waiting.pop(doc_id, None)

    # ---- publishing --------------------------------------------------------------------

    def relay_once(self) -> int:
        """Publish one batch from each collection; answer how many events went out."""
        if self.producer is None:
            self.producer = kafka.producer(self.settings)
        return sum(self._relay_batch(collection) for collection in self.collections)

    def _relay_batch(self, collection: Collection) -> int:
        documents = outbox.pending(collection, self.settings.outbox_batch_size)
        if not documents:
            return 0
        waiting = self._to_put_back.get(collection.name, {})
        early = [doc["_id"] for doc in documents if doc["_id"] in waiting]
        if early:
            # New events of a document whose log is still to go out again: its log goes
            # first, so that each aggregate's events go out in order.
            request = self.state.find_one({"_id": REPUBLISH}) or {"since": ""}
            self._put_back(collection, request["since"], early)
            documents = outbox.pending(collection, self.settings.outbox_batch_size)
        sent = [(doc["_id"], self._send(doc["_id"], doc["outbox"])) for doc in documents]
        # Every send settles (delivered, or failed after the delivery timeout) before
        # anything is marked or sent again: an outage delays events, it does not copy them.
        self._flush()
        published_ids, firsts = [], {}
        for _, futures in sent:
            # Keep an aggregate's order: stop at its first event that did not go out.
            for event_id, future in futures:
                if not (future.is_done and future.succeeded()):
                    break
                published_ids.append(event_id)
                landed = future.value
                key = (landed.topic, landed.partition)
                firsts[key] = min(firsts.get(key, landed.offset), landed.offset)
        self._record(firsts)
        if published_ids:
            outbox.mark_published(collection, [doc_id for doc_id, _ in sent], published_ids)
        metrics.EVENTS_PUBLISHED.inc(len(published_ids))
        _log_published(documents, set(published_ids))
        failed = sum(len(futures) for _, futures in sent) - len(published_ids)
        if failed:
            metrics.EVENTS_PUBLISH_FAILED.inc(failed)
            raise PublishFailed(f"{failed} events were not confirmed")
        return len(published_ids)

    def _flush(self) -> None:
        """Wait for every send to settle, keeping the lease meanwhile: a broker outage can
        hold a batch for the delivery timeout (minutes), and another relay taking the
        lease then would publish the same events again."""
        while True:
            try:
                self.producer.flush(timeout=self.settings.relay_lease_seconds / 2)
                return
            except KafkaTimeoutError:
                with contextlib.suppress(PyMongoError):  # the database away: the hold may end
                    self.lease.hold()

    def _record(self, firsts: dict[tuple[str, int], int]) -> None:
        """Where this batch's first record landed on each partition: the broker holds at
        least that much for as long as it keeps what it was given."""
        for topic in {topic for topic, _ in firsts}:
            if topic not in self._topic_ids:  # published before any check of the broker
                self._topic_ids.update(
                    {t.name: t.id for t in kafka.describe(self._admin_client(), [topic]).values()}
                )
            landed = {f"last_round.{p}": offset for (t, p), offset in firsts.items() if t == topic}
            self.state.update_one(
                {"_id": f"topic:{topic}"},
                {"$set": {"topic_id": self._topic_ids.get(topic, ""), **landed}},
                upsert=True,
            )

    def _send(self, doc_id: Any, envelopes: list[dict]) -> list[tuple[str, Any]]:
        """Send a document's events in order; none if one has a type this relay does not
        publish (a newer service wrote it during a rolling deploy): they wait for a relay
        that does, and the other documents' events still go out."""
        try:
            topics = [event_type(envelope["type"]).topic for envelope in envelopes]
            if not set(topics) <= set(self.topics):
                raise LookupError(f"events for {set(topics) - set(self.topics)}")
        except LookupError as error:
            self._warnings.warning(
                log,
                "outbox event this relay cannot publish",
                document=str(doc_id),
                error=str(error),
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


def _log_published(documents: list[dict], published_ids: set[str]) -> None:
    """One line an event published, with its trace id: the relay's part in following a
    referral from service to service."""
    for document in documents:
        for envelope in document["outbox"]:
            if envelope["id"] in published_ids:
                with logs.about_event(envelope["id"]), tracing.joined(envelope.get("traceparent")):
                    log.info(
                        "event published",
                        extra={"type": envelope["type"], "subject": envelope["subject"]},
                    )
