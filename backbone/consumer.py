"""The consumer runner: at-least-once delivery made idempotent.

For each event it records `group:event id` in `processed_events` and applies the
handler's change to the view in one transaction, so a redelivered event changes nothing.
Offsets are committed only after processing. An event that cannot be processed (invalid,
or its handler fails) goes to the group's dead-letter topic with the error, and the
consumer carries on; a database or broker outage is retried, never dead-lettered.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import (
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    PyMongoError,
    WTimeoutError,
)

from backbone import logs, metrics, mongo
from backbone.clock import now
from backbone.events.envelope import Event, InvalidEvent, decode

log = logging.getLogger(__name__)

Handler = Callable[[Event, ClientSession], None]


def is_transient(error: Exception) -> bool:
    """Errors that say nothing about the event: retry it, never dead-letter it."""
    if isinstance(error, ConnectionFailure | KafkaError | ExecutionTimeout | WTimeoutError):
        return True
    return isinstance(error, PyMongoError) and (
        error.has_error_label("TransientTransactionError")
        or error.has_error_label("UnknownTransactionCommitResult")
    )


def dead_letter_topic(group: str) -> str:
    return f"familyties.dead-letter.{group}"


class ConsumerRunner:
    def __init__(
        self,
        group: str,
        consumer: KafkaConsumer,
        handlers: dict[str, Handler],
        db: Database,
        producer: KafkaProducer,
        retry_seconds: float = 1.0,
    ) -> None:
        self.group = group
        self.consumer = consumer
        self.handlers = handlers
        self.db = db
        self.processed = db["processed_events"]
        self.producer = producer
        self.retry_seconds = retry_seconds

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.poll_once(stop)
        finally:
            self.consumer.close(autocommit=False)

    def poll_once(self, stop: threading.Event, timeout_ms: int = 500) -> int:
        """Process one poll's records, then commit exactly what was processed."""
        batches = self.consumer.poll(timeout_ms=timeout_ms)
        next_offsets = {partition: records[0].offset for partition, records in batches.items()}
        done = 0
        try:
            for partition, records in batches.items():
                for record in records:
                    self.process(record)
                    next_offsets[partition] = record.offset + 1
                    done += 1
        except Exception as error:
            if not is_transient(error):
                raise
            # Read every partition again from its first unprocessed record, after a pause.
            log.warning("event processing will be retried", extra={"error": type(error).__name__})
            for partition, offset in next_offsets.items():
                self.consumer.seek(partition, offset)
            stop.wait(self.retry_seconds)
        if done:
            self._commit(next_offsets)
        return done

    def process(self, record: ConsumerRecord) -> None:
        try:
            event = decode(record.value)
        except InvalidEvent as error:
            self._dead_letter(record, "unknown", error)
            return
        token = logs.event_id.set(event.id)
        try:
            handler = self.handlers.get(event.type)
            if handler is None:
                metrics.EVENTS_CONSUMED.labels(self.group, event.type, "ignored").inc()
                return
            try:
                outcome = self._apply_once(event, handler)
            except Exception as error:
                if is_transient(error):
                    raise
                self._dead_letter(record, event.type, error)
                return
            metrics.EVENTS_CONSUMED.labels(self.group, event.type, outcome).inc()
        finally:
            logs.event_id.reset(token)

    def _apply_once(self, event: Event, handler: Handler) -> str:
        marker = {"_id": f"{self.group}:{event.id}", "type": event.type, "at": now()}

        def apply(session: ClientSession) -> None:
            try:
                self.processed.insert_one(marker, session=session)
            except DuplicateKeyError:
                raise _AlreadyProcessed from None
            handler(event, session)

        try:
            mongo.in_transaction(self.db, apply)
        except _AlreadyProcessed:
            return "duplicate"
        return "processed"

    def _dead_letter(self, record: ConsumerRecord, event_type: str, error: Exception) -> None:
        # Our own InvalidEvent messages name fields, never values; a handler's exception
        # might quote the event's data, so only its kind is kept.
        reason = str(error) if isinstance(error, InvalidEvent) else type(error).__name__
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
        ).get(timeout=10)
        metrics.EVENTS_FAILED.labels(self.group, event_type).inc()
        log.error(
            "event dead-lettered",
            extra={
                "topic": record.topic,
                "offset": record.offset,
                "error_kind": type(error).__name__,
            },
        )

    def _commit(self, next_offsets: dict) -> None:
        try:
            self.consumer.commit(
                {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in next_offsets.items()}
            )
        except KafkaError as error:
            # After a rebalance another member reads these records again: harmless,
            # since applying an event twice changes nothing.
            log.warning("offsets not committed", extra={"error": type(error).__name__})


class _AlreadyProcessed(Exception):
    """This group has applied the event before: a redelivery."""
