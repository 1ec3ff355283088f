"""Each publishing service says on Kafka how many events it has published, so that a view
rebuilt from the topics (reporting's) can check that it saw them all, without reading any
service's database or asking any service.

A count says: every event of the service's log with an id up to `through` has been
published (none is waiting in the outbox), and there are exactly `events` of them. Event
ids are UUIDv7 and sort by time, so `through` is the newest event below a bound that
nothing can still appear under: the oldest event waiting in the outbox, and the settings'
margin before now (an event gets its id before its write commits). The worker keeps a
running count in its relay's state collection and counts only the events made since the
last one, so a count costs the same however long the log.

Counts go on their own topic, keyed by service, one partition, compacted: only the latest
per service matters. They are about the log, not the domain: not catalogue events, and no
consumer group reads them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from kafka import KafkaProducer, TopicPartition
from kafka.errors import KafkaTimeoutError
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from backbone import kafka, metrics, outbox
from backbone.clock import now
from backbone.ids import event_id_floor
from backbone.relay import REPUBLISH, STATE
from backbone.settings import Settings

log = logging.getLogger(__name__)

TOPIC = kafka.EVENT_LOG_COUNTS_TOPIC
# The services that check a rebuilt view against the counts: they may read the topic
# (backbone.acls). Reporting reads it with `familyties reporting rebuild`, in no group.
READERS = ("reporting",)
# `through` before the first event: it sorts below every event id.
NONE_YET = "00000000-0000-0000-0000-000000000000"
STATE_ID = "event_log_count"  # the running count's record in the relay's state collection
# A count unchanged is said again this often, for a broker that lost the topic.
RESEND_SECONDS = 300.0
SEND_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class LogCount:
    """What a service says of its event log: every event with an id up to `through` has
    been published, and there are `events` of them (as of `at`)."""

    service: str
    through: str
    events: int
    at: datetime

    def encode(self) -> bytes:
        value = {
            "service": self.service,
            "through": self.through,
            "events": self.events,
            "at": self.at.isoformat(),
        }
        return json.dumps(value).encode()

    @classmethod
    def decode(cls, value: bytes) -> LogCount:
        """Raises ValueError, KeyError or TypeError for anything but a count."""
        raw = json.loads(value)
        if not isinstance(raw["events"], int) or raw["events"] < 0:
            raise ValueError("events is not a count")
        at = datetime.fromisoformat(raw["at"])
        return cls(str(raw["service"]), str(raw["through"]), raw["events"], at)


def count_bound(moment: datetime, margin_seconds: float, oldest_pending: str | None) -> str:
    """The least event id a count made at `moment` must leave out: every lower one is
    published for good. An event waiting in the outbox is not; one made within the margin
    may still be committing, unseen."""
    settled = event_id_floor(moment - timedelta(seconds=margin_seconds))
    return settled if oldest_pending is None else min(settled, oldest_pending)


def advance(service: str, collections: list[Collection], settings: Settings) -> LogCount | None:
    """Bring the service's running count up to what is published now, and answer it. None
    while it cannot be said: events up to its `through` are waiting to be published again
    (a republish), so the broker may lack some of them; or another worker of the service
    moved the count on meanwhile (the next round says that one)."""
    state = collections[0].database[STATE]
    moment = now()  # before looking at the outbox: anything committed after is in the margin
    if state.find_one({"_id": REPUBLISH}, {"_id": 1}) is not None:
        return None
    bound = count_bound(
        moment, settings.event_log_count_margin_seconds, outbox.oldest_pending(collections)
    )
    record = state.find_one({"_id": STATE_ID}) or {"through": NONE_YET, "events": 0}
    through, events = record["through"], record["events"]
    if bound <= through:
        return None
    tallies = [outbox.tally_logged(collection, through, bound) for collection in collections]
    added = sum(tally.events for tally in tallies)
    if added:
        newest = max(tally.newest for tally in tallies if tally.newest)
        if not _save(state, through, newest, events + added):
            return None  # another worker of the service counted meanwhile: it says so
        through, events = newest, events + added
    return LogCount(service, through, events, moment)


def _save(state: Collection, previous: str, through: str, events: int) -> bool:
    """Move the running count on from `previous`, unless another worker already did."""
    try:
        state.update_one(
            {"_id": STATE_ID, "through": previous},
            {"$set": {"through": through, "events": events, "at": now()}},
            upsert=True,  # the first count; DuplicateKeyError if the record moved on
        )
    except DuplicateKeyError:
        return False
    return True


class LogCountPublisher:
    """Says the service's count on the topic each time it moves, and every RESEND_SECONDS
    while it does not."""

    def __init__(self, service: str, collections: list[Collection], settings: Settings):
        self.service = service
        self.collections = collections
        self.settings = settings
        self.producer: KafkaProducer | None = None
        self._said: tuple[str, int] | None = None
        self._said_at = 0.0

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.publish_once()
                metrics.loop_done()
                stop.wait(self.settings.broker_check_seconds)
        finally:
            self.close()

    def close(self) -> None:
        if self.producer is not None:
            self.producer.close(timeout=1)
            self.producer = None

    def publish_once(self) -> LogCount | None:
        """Count, and say the count if it is due; answer what was said."""
        count = advance(self.service, self.collections, self.settings)
        if count is None:
            self._said = None  # say it at once when it can be said again
            return None
        if (count.through, count.events) == self._said and (
            time.monotonic() - self._said_at < RESEND_SECONDS
        ):
            return None
        if self.producer is None:
            self.producer = kafka.producer(self.settings)
        future = self.producer.send(TOPIC, key=self.service.encode(), value=count.encode())
        future.get(timeout=SEND_TIMEOUT_SECONDS)
        self._said, self._said_at = (count.through, count.events), time.monotonic()
        log.debug(
            "event log count published", extra={"through": count.through, "events": count.events}
        )
        return count


def read_event_log_counts(settings: Settings, timeout: float = 10.0) -> dict[str, LogCount]:
    """The latest count of each service, read from the start of the topic to its end (in no
    group: nothing committed). A service missing has said nothing yet (or the broker lost
    the topic): a rebuild must not take it as zero. Raises KafkaTimeoutError if the end is
    not reached within `timeout` seconds, rather than answer part of the topic."""
    deadline = time.monotonic() + timeout

    def left_ms() -> int:
        left = int((deadline - time.monotonic()) * 1000)
        if left <= 0:
            raise KafkaTimeoutError(f"{TOPIC} not read to its end in {timeout:g} s")
        return left

    consumer = kafka.reader(settings, "familyties-event-log-counts")
    try:
        partitions = [TopicPartition(TOPIC, p) for p in consumer.partitions_for_topic(TOPIC)]
        if not partitions:
            return {}
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions, timeout_ms=left_ms())
        latest: dict[str, LogCount] = {}
        while not all(
            (consumer.position(tp, timeout_ms=left_ms()) or 0) >= end for tp, end in ends.items()
        ):
            for records in consumer.poll(timeout_ms=min(left_ms(), 500)).values():
                for record in records:  # in offset order: a later count replaces an earlier
                    _take(latest, record.key, record.value, record.offset)
        return latest
    finally:
        consumer.close()


def _take(latest: dict[str, LogCount], key: bytes | None, value: bytes | None, offset: int) -> None:
    try:
        count = LogCount.decode(value or b"")
        if key is None or key.decode() != count.service:
            raise ValueError("the key is not the service")
    except (ValueError, KeyError, TypeError) as error:
        log.warning(
            "not an event log count: skipped", extra={"offset": offset, "error": str(error)}
        )
        return
    latest[count.service] = count
