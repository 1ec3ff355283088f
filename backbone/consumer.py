"""The consumer runner: at-least-once delivery made idempotent.

For each event it records `group:event id` in `processed_events` and applies the handler's
change to the view in the same transaction, so a redelivered event changes nothing; events
the group processed before are skipped with one query per poll. Up to 20 events share a
transaction (one commit, one journal flush); if any of them fails, each is applied alone.
Every write is durable before it is acknowledged, and offsets are committed only after
that. An event that cannot be processed (undecodable, invalid, or its handler fails) goes
to the group's dead-letter topic with the error, and the consumer carries on; a database
or broker outage is retried, never dead-lettered.

Staying in the group under load: a poll's records are processed for a bounded time, and a
transaction gives up within a bounded time; what is left is read again at the next poll,
well inside the poll limit. A partition taken over from a consumer that died
mid-transaction would wait for the database to expire that transaction (60 s), so the new
owner ends the old owner's database session. A topic made again (a broker that lost its
log) is read again from its start, by the same consumer: on the local broker a new member
cannot join its group for minutes if an old one leaves just after the broker restarted.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pymongo
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.structs import MemberState, OffsetAndMetadata
from opentelemetry.trace import SpanKind
from pymongo import UpdateOne
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from backbone import kafka, logs, metrics, mongo, tracing
from backbone.clock import now
from backbone.events.catalogue import TOPICS, event_type
from backbone.events.envelope import Event, InvalidEvent, decode
from backbone.settings import Settings

log = logging.getLogger(__name__)

Handler = Callable[[Event, ClientSession], None]

# Events applied in one transaction when they can be: one commit, and one journal flush,
# for them all, while the transaction stays short.
EVENTS_PER_TRANSACTION = 20


def is_transient(error: Exception) -> bool:
    """Errors that say nothing about the event: retry it, never dead-letter it."""
    return isinstance(error, KafkaError) or mongo.is_unavailable(error)


def dead_letter_topic(group: str) -> str:
    return f"familyties.dead-letter.{group}"


class ConsumerRunner:
    """One consumer of `group` over `topics`."""

    def __init__(
        self,
        group: str,
        topics: list[str],
        handlers: dict[str, Handler],
        db: Database,
        settings: Settings,
        retry_seconds: float = 1.0,
    ) -> None:
        self.group = group
        self.topics = topics
        self.handlers = handlers
        self.db = db
        self.settings = settings
        self.retry_seconds = retry_seconds
        self.processed = db["processed_events"]
        self.claims = db["consumer_claims"]
        # A poll's processing, and any one transaction, each take at most 30% of the poll
        # limit: together with the poll itself, the consumer stays in its group.
        self.time_budget = settings.consumer_max_poll_interval_ms / 1000 * 0.3
        # A member still not settled in its group after this long is replaced: the local
        # broker can leave a member that rejoined just after it restarted waiting for good.
        self.rejoin_seconds = 3 * settings.consumer_session_timeout_ms / 1000
        self.consumer = kafka.consumer(settings, group)
        self.producer: KafkaProducer | None = None  # for dead letters, made when needed
        self.admin: KafkaAdminClient | None = None
        self.session = db.client.start_session()
        self._topic_ids: dict[str, str] = {}
        self._rewind_until: dict[str, float] = {}  # topics made again, read from their start
        self._next_check = 0.0
        self._positions: dict[TopicPartition, tuple[int, int]] = {}  # next offset, its time
        self._warnings = logs.Throttle(settings.warning_interval_seconds)
        self._unsettled_since: float | None = None
        self._chunk = EVENTS_PER_TRANSACTION  # events in the next transaction
        self.consumer.subscribe(topics, listener=_Handover(self))

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.poll_once(stop)
                self.check_topics()
                self.check_membership()
        finally:
            self.close()

    def close(self) -> None:
        self.consumer.close(autocommit=False)
        for client in (self.producer, self.admin):
            if client is not None:
                client.close()
        self.session.end_session()

    def poll_once(self, stop: threading.Event, timeout_ms: int = 500) -> int:
        """Process one poll's records, then commit exactly what was processed."""
        batches = self.consumer.poll(timeout_ms=timeout_ms)
        deadline = time.monotonic() + self.time_budget
        next_offsets = {partition: records[0].offset for partition, records in batches.items()}
        done, retrying = 0, False
        try:
            seen = self._processed_before(batches)
            for partition, records in batches.items():
                while records:
                    chunk, records = records[: self._chunk], records[self._chunk :]
                    for record in self._process(chunk, seen, stop, deadline):
                        next_offsets[partition] = record.offset + 1
                        done += 1
        except _OutOfTime:
            self._seek(next_offsets)  # the rest comes again with the next poll
        except Exception as error:
            if not is_transient(error):
                raise
            self._warnings.warning(
                log,
                "event processing will be retried",
                group=self.group,
                error=type(error).__name__,
            )
            self._seek(next_offsets)
            stop.wait(self.retry_seconds)
            retrying = True
        if done:
            self._commit(next_offsets)
        self._observe_backlog(batches, next_offsets)
        if not retrying:  # a busy consumer (out of time) is not a hung one
            metrics.loop_done()
        return done

    def _process(
        self, records: list[ConsumerRecord], seen: frozenset[str], stop, deadline: float
    ) -> Iterator[ConsumerRecord]:
        """Processes `records`, yielding each once done: all in one transaction if they
        can be, else one at a time, so a redelivered or failing event is dealt with alone."""
        if stop.is_set() or time.monotonic() > deadline:
            raise _OutOfTime
        prepared = [(record, self._prepare(record, seen)) for record in records]
        work = [(record, ready) for record, ready in prepared if isinstance(ready, tuple)]
        together = len(work) > 1 and self._applied_together(work)
        for record, ready in prepared:
            if isinstance(ready, InvalidEvent):
                self._dead_letter(record, "unknown", ready)
            elif ready is not None and not together:
                if stop.is_set() or time.monotonic() > deadline:
                    raise _OutOfTime
                self._apply(record, *ready)
            yield record

    def _prepare(
        self, record: ConsumerRecord, seen: frozenset[str]
    ) -> tuple[Event, Handler] | InvalidEvent | None:
        """The event and its handler; the reason it cannot be processed; or None when
        there is nothing to do (processed before, or not for this group)."""
        kind, event_id = _peek(record.value)
        if event_id is not None and self._marker(event_id) in seen:
            metrics.EVENTS_CONSUMED.labels(self.group, kind, "duplicate").inc()
            return None
        try:
            event = decode(record.value)
        except InvalidEvent as error:
            return error
        owner = event_type(event.type).topic
        if record.topic in TOPICS and record.topic != owner:  # one service's topic only
            return InvalidEvent(f"{event.type} is published on {owner} alone")
        handler = self.handlers.get(event.type)
        if handler is None:
            metrics.EVENTS_CONSUMED.labels(self.group, event.type, "ignored").inc()
            return None
        return event, handler

    def _applied_together(self, work: list[tuple[ConsumerRecord, tuple[Event, Handler]]]) -> bool:
        """Applies every event of `work` in one transaction: one commit, and so one journal
        flush, for them all. Answers False, having changed nothing, if any of them was
        processed before or fails, or the database is slow or away; the next chunks are
        then halved, down to one event per transaction, and grow again as they succeed."""

        def apply(session: ClientSession) -> None:
            markers = [
                {"_id": self._marker(e.id), "type": e.type, "at": now()} for _, (e, _) in work
            ]
            self.processed.insert_many(markers, session=session)
            for _, (event, handler) in work:
                _handle(event, handler, session)

        try:
            with pymongo.timeout(self.time_budget):
                mongo.in_transaction(self.db, apply, self.session)
        except Exception:  # each event is tried on its own next
            self._chunk = max(1, self._chunk // 2)
            return False
        self._chunk = min(EVENTS_PER_TRANSACTION, self._chunk * 2)
        for _, (event, _) in work:
            with _about(event):
                self._count(event, "processed")
        return True

    def _apply(self, record: ConsumerRecord, event: Event, handler: Handler) -> None:
        """Applies one event in a transaction of its own; dead-letters it if it fails."""
        with _about(event):
            try:
                outcome = self._apply_once(event, handler)
            except Exception as error:
                if is_transient(error):
                    raise
                self._dead_letter(record, event.type, error)
                return
            self._count(event, outcome)
        self._chunk = min(EVENTS_PER_TRANSACTION, self._chunk * 2)

    def _count(self, event: Event, outcome: str) -> None:
        metrics.EVENTS_CONSUMED.labels(self.group, event.type, outcome).inc()
        if outcome == "processed":
            metrics.EVENT_AGE.labels(self.group).observe((now() - event.time).total_seconds())
            # One line an event, after its commit: how an operator follows a referral by
            # its trace id from service to service.
            log.info(
                "event processed",
                extra={"group": self.group, "type": event.type, "subject": event.subject},
            )

    def check_topics(self) -> None:
        """Every so often, look for topics with a new id: the broker lost them and they
        were made again. Read them from their start: the offsets this consumer had, and any
        it committed since, point past records it never saw."""
        if time.monotonic() < self._next_check:
            return
        self._next_check = time.monotonic() + self.settings.broker_check_seconds
        try:
            if self.admin is None:
                self.admin = kafka.admin(self.settings)
            found = kafka.describe(self.admin, self.topics)
        except KafkaError:
            if self.admin is not None:
                self.admin.close()
                self.admin = None
            return  # the broker is away: nothing to compare with yet
        remade = {name for name, t in found.items() if self._topic_ids.get(name, t.id) != t.id}
        self._topic_ids.update({name: topic.id for name, topic in found.items()})
        if not remade:
            return
        log.warning(
            "topics made again: reading them from their start",
            extra={"group": self.group, "topics": sorted(remade)},
        )
        # Partitions assigned in the rebalance the new topics bring are read from the start
        # as well, for as long as such a rebalance may take.
        until = time.monotonic() + 3 * self.settings.broker_check_seconds + self.rejoin_seconds
        self._rewind_until |= dict.fromkeys(remade, until)
        for partition in self.consumer.assignment():
            if partition.topic in remade:
                self.consumer.seek_to_beginning(partition)

    def check_membership(self) -> None:
        """Replace this consumer with a new member of the group if it has been joining for
        longer than a join takes."""
        if self.consumer.group_metadata().state == MemberState.STABLE:
            self._unsettled_since = None
            return
        if self._unsettled_since is None:
            self._unsettled_since = time.monotonic()
        if time.monotonic() - self._unsettled_since < self.rejoin_seconds:
            return
        log.warning("consumer not let into its group: joining again", extra={"group": self.group})
        self.consumer.close(autocommit=False)
        self.consumer = kafka.consumer(self.settings, self.group)
        self.consumer.subscribe(self.topics, listener=_Handover(self))
        self._unsettled_since = None

    def take_over(self, assigned: list[TopicPartition]) -> None:
        """On being given partitions: read topics just made again from their start, and end
        the database session of any consumer that held them before (its open transaction
        would hold the next event's writes until the database expired it)."""
        log.info(
            "partitions assigned",
            extra={
                "group": self.group,
                "partitions": sorted(f"{p.topic}/{p.partition}" for p in assigned),
            },
        )
        for partition in assigned:
            if self._rewind_until.get(partition.topic, 0) > time.monotonic():
                self.consumer.seek_to_beginning(partition)
        claims = [f"{self.group}|{tp.topic}|{tp.partition}" for tp in assigned]
        mine = self.session.session_id
        try:
            held = self.claims.find({"_id": {"$in": claims}, "session": {"$ne": mine}})
            others = {doc["session"]["id"]: doc["session"] for doc in held}
            if others:
                self.db.client.admin.command("killSessions", list(others.values()))
            claim = {"$set": {"session": mine, "at": now()}}
            if claims:
                self.claims.bulk_write([UpdateOne({"_id": c}, claim, upsert=True) for c in claims])
        except PyMongoError as error:  # the old transaction then expires by itself
            self._warnings.warning(
                log, "could not end a previous owner's session", error=type(error).__name__
            )

    def _marker(self, event_id: str) -> str:
        return f"{self.group}:{event_id}"

    def _processed_record(self, event: Event) -> dict:
        return {"_id": self._marker(event.id), "type": event.type, "at": now()}

    def _processed_before(self, batches: dict) -> frozenset[str]:
        """The markers of this poll's events that the group processed before: replaying a
        topic costs one query per poll, not a transaction per event."""
        markers = [
            self._marker(event_id)
            for records in batches.values()
            for record in records
            if (event_id := _peek(record.value)[1]) is not None
        ]
        if not markers:
            return frozenset()
        found = self.processed.find({"_id": {"$in": markers}}, {"_id": 1})
        return frozenset(doc["_id"] for doc in found)

    def _apply_once(self, event: Event, handler: Handler) -> str:
        marker = self._processed_record(event)

        def apply(session: ClientSession) -> None:
            try:
                self.processed.insert_one(marker, session=session)
            except DuplicateKeyError:
                raise _AlreadyProcessed from None
            _handle(event, handler, session)

        try:
            with pymongo.timeout(self.time_budget):
                mongo.in_transaction(self.db, apply, self.session)
        except _AlreadyProcessed:
            return "duplicate"
        return "processed"

    def _dead_letter(self, record: ConsumerRecord, event_type: str, error: Exception) -> None:
        # Our own InvalidEvent messages name fields, never values; a handler's exception
        # might quote the event's data, so only its kind is kept.
        reason = str(error) if isinstance(error, InvalidEvent) else type(error).__name__
        if self.producer is None:
            self.producer = kafka.producer(self.settings)
        try:
            self._send_dead_letter(record, reason)
        except KafkaError:
            self.producer.close(timeout=1)  # a failed producer stays failed: a new one next
            self.producer = None
            raise
        metrics.EVENTS_FAILED.labels(self.group, event_type).inc()
        log.error(
            "event dead-lettered",
            extra={
                "topic": record.topic,
                "offset": record.offset,
                "error_kind": type(error).__name__,
            },
        )

    def _send_dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        self.producer.send(
            dead_letter_topic(self.group),
            key=record.key,
            value=record.value,
            headers=[
                ("familyties-error", reason[:1000].encode()),
                ("familyties-original-topic", record.topic.encode()),
                ("familyties-original-partition", str(record.partition).encode()),
                ("familyties-original-offset", str(record.offset).encode()),
            ],
        ).get(timeout=self.time_budget)

    def _seek(self, next_offsets: dict[TopicPartition, int]) -> None:
        for partition, offset in next_offsets.items():
            self.consumer.seek(partition, offset)

    def _commit(self, next_offsets: dict) -> None:
        try:
            self.consumer.commit(
                {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in next_offsets.items()}
            )
        except KafkaError as error:
            # After a rebalance another member reads these records again: harmless,
            # since applying an event twice changes nothing.
            self._warnings.warning(log, "offsets not committed", error=type(error).__name__)

    def _observe_backlog(self, batches: dict, next_offsets: dict) -> None:
        """Lag and the age of the oldest unprocessed event, per partition. The high
        watermark comes from the broker's fetch answers, checked against the offsets of the
        records actually read (some brokers misreport end offsets when asked directly)."""
        for partition, records in batches.items():
            by_offset = {record.offset: record.timestamp for record in records}
            next_offset = next_offsets[partition]
            # The next record's time if it is in hand, else that of the last one read: the
            # next is no older than that.
            stamp = by_offset.get(next_offset, records[-1].timestamp)
            self._positions[partition] = (next_offset, stamp)
        for partition in self.consumer.assignment():
            highwater = self.consumer.highwater(partition)
            if highwater is None or partition not in self._positions:
                continue
            next_offset, stamp = self._positions[partition]
            labels = (self.group, partition.topic, str(partition.partition))
            lag = max(0, highwater - next_offset)
            metrics.CONSUMER_LAG.labels(*labels).set(lag)
            age = max(0.0, time.time() - stamp / 1000) if lag and stamp > 0 else 0.0
            metrics.CONSUMER_OLDEST_UNPROCESSED_AGE.labels(*labels).set(age)


class _Handover(ConsumerRebalanceListener):
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    def on_partitions_revoked(self, revoked) -> None:
        pass

    def on_partitions_assigned(self, assigned) -> None:
        self.runner.take_over(list(assigned))


def _peek(value: bytes | None) -> tuple[str, str | None]:
    """An event's type and id, read without validating it (it is checked in full before a
    handler sees it)."""
    try:
        envelope = json.loads(value) if value else None
    except (ValueError, RecursionError):
        return "unknown", None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("id"), str):
        return "unknown", None
    kind = envelope.get("type")
    return (kind if isinstance(kind, str) else "unknown"), envelope["id"]


def _handle(event: Event, handler: Handler, session: ClientSession) -> None:
    """Run a handler in a span of its own, a child of the event's: the events it makes carry
    the event's trace id."""
    name = f"process {event.type}"
    with logs.about_event(event.id), tracing.span(name, event.traceparent, SpanKind.CONSUMER):
        handler(event, session)


@contextmanager
def _about(event: Event) -> Iterator[None]:
    """Log lines inside carry the event's id and trace id."""
    with logs.about_event(event.id), tracing.joined(event.traceparent):
        yield


class _OutOfTime(Exception):
    """This poll's time for processing is used up."""


class _AlreadyProcessed(Exception):
    """This group has applied the event before: a redelivery."""
