"""Read what reached Kafka, from the beginning of a topic, without a consumer group."""

from __future__ import annotations

import time
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord


def read_topic(
    bootstrap: str,
    topic: str,
    until: Callable[[list[ConsumerRecord]], bool],
    timeout: float = 30,
    settle: float = 0,
    partitions: int | None = None,
) -> list[ConsumerRecord]:
    """Every record of `topic` seen until `until(records)` holds or `timeout` passes, and
    then for `settle` seconds more, to catch any copy that arrives late. With `partitions`,
    only once the topic has that many (a topic being made again: see _partitions_of)."""
    deadline = time.monotonic() + timeout
    consumer, partitions_found = _partitions_of(bootstrap, topic, deadline, partitions)
    try:
        consumer.assign([TopicPartition(topic, p) for p in partitions_found])
        consumer.seek_to_beginning()
        records: list[ConsumerRecord] = []
        while time.monotonic() < deadline and not until(records):
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        settled = time.monotonic() + settle
        while time.monotonic() < settled:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def subjects_seen(records: list[ConsumerRecord]) -> set[str]:
    return {record.key.decode() for record in records if record.key}


def _partitions_of(
    bootstrap: str, topic: str, deadline: float, count: int | None = None
) -> tuple[KafkaConsumer, set[int]]:
    """A consumer that knows `topic`'s partitions. A client made while the broker was
    restarting can keep stale metadata (seen once under load, in a full run): after 10 s
    without the topic, a new client asks afresh.

    It never makes the topic: a restarted Tansu would make it with 4 partitions, the relay
    would then remake it with the configured ones, and this reader would go on reading
    only the first 4 of them (seen in CI, where the relay's healing test missed a third of
    its subjects). A restarted Tansu also makes a topic when a producer sends to it (seen in
    a full run): a reader that must see the relay's topic, made again with the configured
    partitions, gives their `count`, and a topic with another count is asked about again
    by a new client a moment later."""
    while True:
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, allow_auto_create_topics=False
        )
        ask_again = min(deadline, time.monotonic() + 10)
        while time.monotonic() < ask_again:
            partitions = consumer.partitions_for_topic(topic) or set()
            if partitions and count in (None, len(partitions)):
                return consumer, partitions
            if partitions:  # the topic as the broker made it, before the relay remade it
                ask_again = min(ask_again, time.monotonic() + 1)
            time.sleep(0.1)
        consumer.close()
        if time.monotonic() >= deadline:
            raise AssertionError(f"{topic} has no partitions on {bootstrap}")
