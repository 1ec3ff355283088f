"""Rebuilding the view by replay: every topic reporting reads, from its beginning, into a
new generation of the view (repository.py), which is named current only once it is
complete. Reports are read from the old generation until then.

Complete means: for each service whose events the view is built from, the rebuild saw
every event that service says, on the event-log counts topic, it has published. The local
broker keeps its log in memory only, so after it restarts the topics hold less than the
services published: the rebuild then says which are short and by how much, and asks the
services' relays to publish their logs again (the republish command) if told to.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition
from pymongo.database import Database
from tqdm import tqdm

from backbone import kafka, mongo
from backbone.events.catalogue import CATALOGUE, TOPICS, source_of
from backbone.events.envelope import Event, InvalidEvent, decode
from backbone.log_counts import LogCount, read_event_log_counts
from backbone.relay import request_republish
from backbone.settings import Settings
from services.reporting import facts
from services.reporting.repository import BulkApplier, Generation, ReportingView, apply_to
from services.reporting.worker import READS

log = logging.getLogger(__name__)

PUBLISHERS = ["referral", "casework", "directory"]  # the services of the topics it reads
HANDLED = frozenset((*facts.REFERRAL_EVENTS, *facts.DIRECTORY_EVENTS))


@dataclass
class Replay:
    """What a replay saw: the ids of each service's events, and what it could not read."""

    seen: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    unreadable: int = 0
    applied: int = 0


@dataclass(frozen=True)
class Shortfall:
    service: str
    published: int | None  # None: the service has not said
    seen: int

    def __str__(self) -> str:
        if self.published is None:
            return f"{self.service} has not said how many events it published"
        return f"{self.service} published {self.published} events; {self.seen} were on the broker"


def shortfalls(replay: Replay, counts: dict[str, LogCount]) -> list[Shortfall]:
    """The services whose events the replay did not all see."""
    short = []
    for service in PUBLISHERS:
        count = counts.get(service)
        ids = replay.seen.get(source_of(service), set())
        if count is None:
            if ids:  # it published, but never said how many: nothing to check against
                short.append(Shortfall(service, None, len(ids)))
            continue
        seen = sum(1 for event_id in ids if event_id <= count.through)
        if seen < count.events:
            short.append(Shortfall(service, count.events, seen))
    return short


class Rebuild:
    def __init__(self, settings: Settings, db: Database, show_progress: bool = True) -> None:
        self.settings = settings
        self.view = ReportingView(db)
        self.show_progress = show_progress
        self.replay = Replay()

    def run(self, republish: bool = False, wait_seconds: float = 600) -> list[Shortfall]:
        """Rebuild into a new generation and switch to it if complete. Answers what is
        missing (nothing: the view was switched over). With `republish`, services found
        short are asked to publish their logs again, and the rebuild waits for them for up
        to `wait_seconds`."""
        generation = self.view.next_generation()
        reader = _reader(self.settings)
        try:
            self._replay(reader, generation)
            missing = shortfalls(self.replay, read_event_log_counts(self.settings))
            if missing and republish:
                missing = self._republish_and_wait(reader, generation, missing, wait_seconds)
            if missing:
                return missing
            self.view.switch_to(generation)
            self._catch_up(reader)
            return []
        finally:
            reader.close()

    def _replay(self, reader: KafkaConsumer, generation: Generation) -> None:
        """Read every topic to the end it had when this began, in bulk."""
        partitions = list(reader.assignment())
        reader.seek_to_beginning(*partitions)
        start = reader.beginning_offsets(partitions)
        end = reader.end_offsets(partitions)
        applier = BulkApplier(generation)
        total = sum(end[p] - start[p] for p in partitions)
        with tqdm(total=total, unit=" events", disable=not self.show_progress) as bar:
            _read_to(reader, end, lambda event: applier.add([event]), self.replay, bar.update)
        applier.flush()

    def _republish_and_wait(
        self, reader: KafkaConsumer, generation: Generation, missing, wait_seconds: float
    ) -> list[Shortfall]:
        for shortfall in missing:
            request_republish(
                mongo.database(self.settings, shortfall.service), "", "a reporting rebuild"
            )
            log.warning("asked for a republish", extra={"service": shortfall.service})
        applier = BulkApplier(generation)
        deadline = time.monotonic() + wait_seconds
        while missing and time.monotonic() < deadline:
            end = reader.end_offsets(list(reader.assignment()))
            _read_to(reader, end, lambda event: applier.add([event]), self.replay, None)
            applier.flush()
            missing = shortfalls(self.replay, read_event_log_counts(self.settings))
            if missing:
                time.sleep(self.settings.broker_check_seconds)
        return missing

    def _catch_up(self, reader: KafkaConsumer) -> None:
        """Events published while the rebuild ran, applied to the new generation one at a
        time, as the consumer applies them (an event the consumer also applies after the
        switch counts once: each record lists the events it has taken)."""
        end = reader.end_offsets(list(reader.assignment()))
        db = self.view.db

        def apply(event: Event) -> None:
            mongo.in_transaction(
                db, lambda session: apply_to(self.view.current(session), event, session)
            )

        _read_to(reader, end, apply, self.replay, None)


def _reader(settings: Settings) -> KafkaConsumer:
    """A consumer of no group, given every partition of the topics the view is built from."""
    reader = kafka.reader(settings, "reporting-rebuild")
    partitions = [
        TopicPartition(topic, number)
        for topic in READS
        for number in sorted(reader.partitions_for_topic(topic) or [])
    ]
    reader.assign(partitions)
    return reader


def _read_to(
    reader: KafkaConsumer,
    end: dict[TopicPartition, int],
    apply: Callable[[Event], None],
    replay: Replay,
    progress: Callable[[int], object] | None,
) -> None:
    """Read each partition to its end, applying each event the view takes. `end` is where
    the broker says each partition ends; the local broker may say less (the first offset
    of its last batch, plus one), so reading goes on until a poll finds nothing more. What
    arrives meanwhile is read too: applying an event early changes nothing it should not."""
    while True:
        batches = reader.poll(timeout_ms=500, max_records=5000)
        for records in batches.values():
            for record in records:
                event = _event(record.value, record.topic, replay)
                if event is not None:
                    replay.seen[event.source].add(event.id)
                    if event.type in HANDLED:
                        apply(event)
                        replay.applied += 1
            if progress is not None:
                progress(len(records))
        if not batches and all(reader.position(p) >= offset for p, offset in end.items()):
            return


def _event(value: bytes | None, topic: str, replay: Replay) -> Event | None:
    """The event, or None (counted) if the live consumer would have dead-lettered it."""
    try:
        event = decode(value)
    except InvalidEvent:
        replay.unreadable += 1
        return None
    if topic in TOPICS and CATALOGUE[event.type].topic != topic:
        replay.unreadable += 1
        return None
    return event
