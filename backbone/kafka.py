"""Kafka clients built from the settings, and keeping topics as configured."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic, OffsetSpec
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

from backbone import logs
from backbone.settings import Settings

log = logging.getLogger(__name__)
_WARNINGS = logs.Throttle(60)

# Clients notice a topic made again (new partitions, a new id) within this time.
METADATA_MAX_AGE_MS = 5_000

# Where each publishing service says how many events it has published (backbone.log_counts).
EVENT_LOG_COUNTS_TOPIC = "familyties.event-log-counts"
# Dead letters wait for an operator for the broker's default retention (7 days on Apache
# Kafka) and no longer: they hold what the failed event held.
DEAD_LETTER_PREFIX = "familyties.dead-letter."
# Events are kept for good, so that any view can be rebuilt, or a new consumer group start,
# by reading its topics from the beginning. Their system of record is each service's event
# log in its database, from which a broker that lost them is refilled (backbone.relay).
_EVENT_CONFIG = {"retention.ms": "-1"}
# Topics not made as the settings say: the counts are one record per service, of which
# only the latest matters, so one partition, compacted (a broker that cannot compact keeps
# them all, and readers take the latest per key).
_LAYOUTS = {EVENT_LOG_COUNTS_TOPIC: (1, {"cleanup.policy": "compact"})}


def client_config(settings: Settings) -> dict[str, Any]:
    """What every Kafka client shares: where the broker is and how to log in to it. The one
    place credentials enter a client, so no client is made without them."""
    config: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_username and settings.kafka_sasl_password:
        config |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            # kafka-python's names; they carry SCRAM credentials too, not only PLAIN ones.
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password.reveal(),
        }
    return config


def producer_config(settings: Settings) -> dict[str, Any]:
    # No transactional_id: the broker's ACLs grant no transactional ids (see backbone.acls).
    return {
        **client_config(settings),
        "client_id": "familyties",
        "acks": "all",
        # The broker drops the producer's own retries of a record it already has, and
        # keeps each partition's order.
        "enable_idempotence": True,
        "linger_ms": 5,
        "request_timeout_ms": 10_000,
        # A record waits this long for a broker that is away before it fails; the relay
        # waits with it rather than sending it again, so an outage makes no copies.
        "delivery_timeout_ms": settings.producer_delivery_timeout_ms,
        "max_block_ms": 10_000,
        "allow_auto_create_topics": False,  # topics are made by ensure_topics, as configured
        "metadata_max_age_ms": METADATA_MAX_AGE_MS,
    }


def consumer_config(settings: Settings, group: str) -> dict[str, Any]:
    return {
        **client_config(settings),
        "group_id": group,
        "client_id": group,
        "enable_auto_commit": False,  # offsets are committed after processing
        "auto_offset_reset": "earliest",
        "max_poll_interval_ms": settings.consumer_max_poll_interval_ms,
        "session_timeout_ms": settings.consumer_session_timeout_ms,
        "heartbeat_interval_ms": settings.consumer_heartbeat_interval_ms,
        "max_poll_records": settings.consumer_max_poll_records,
        "allow_auto_create_topics": False,
        "metadata_max_age_ms": METADATA_MAX_AGE_MS,
    }


def admin_config(settings: Settings, timeout_ms: int = 10_000) -> dict[str, Any]:
    return {
        **client_config(settings),
        "client_id": "familyties-admin",
        "request_timeout_ms": timeout_ms,
    }


def producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(**producer_config(settings))


def consumer(settings: Settings, group: str) -> KafkaConsumer:
    """A consumer of `group`, not yet subscribed."""
    return KafkaConsumer(**consumer_config(settings, group))


def reader(settings: Settings, client_id: str) -> KafkaConsumer:
    """A consumer in no group, to be assigned partitions: it reads from where it is told,
    commits nothing, and leaves no group behind."""
    return KafkaConsumer(
        **client_config(settings),
        client_id=client_id,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        allow_auto_create_topics=False,
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
    )


def admin(settings: Settings, timeout_ms: int = 10_000) -> KafkaAdminClient:
    return KafkaAdminClient(**admin_config(settings, timeout_ms))


@dataclass(frozen=True)
class Topic:
    """A topic as the broker has it: its id (a new one each time it is made) and size."""

    name: str
    id: str
    partitions: int


def describe(client: KafkaAdminClient, names: list[str]) -> dict[str, Topic]:
    """The topics of `names` that exist (asking never creates one)."""
    return {
        row["name"]: Topic(row["name"], str(row["topic_id"]), len(row["partitions"]))
        for row in client.describe_topics(names)
        if row["error_code"] == 0 and row["topic_id"]
    }


def end_offsets(client: KafkaAdminClient, topic: str, partitions: list[int]) -> dict[int, int]:
    """The offset after the last record of each partition, as the broker reports it.

    Some brokers (the local Tansu) report the first offset of the last batch plus one: a
    lower bound. Compare it only with an offset that is the first of a batch or earlier."""
    specs = {TopicPartition(topic, p): OffsetSpec.LATEST for p in partitions}
    return {
        tp.partition: found.offset for tp, found in client.list_partition_offsets(specs).items()
    }


def topic_layout(settings: Settings, name: str) -> tuple[int, dict[str, str]]:
    """How `name` is made: its partitions and its configuration."""
    if name.startswith(DEAD_LETTER_PREFIX):
        return settings.topic_partitions, {}
    return _LAYOUTS.get(name, (settings.topic_partitions, _EVENT_CONFIG))


def ensure_topics(
    settings: Settings, topics: list[str], client: KafkaAdminClient | None = None
) -> set[str]:
    """Make the topics that are missing, with the configured partitions, and remake any
    that a broker made by itself with other partitions while it is still empty; answer the
    topics made. Raises KafkaError if the broker is away.

    A topic that holds records keeps its partitions (a warning says so): adding partitions
    would send an aggregate's next events to another partition than its earlier ones, so a
    consumer could apply them out of order. docs/deployment.md says how to remake one."""
    own = client is None
    client = client or admin(settings)
    try:
        found = describe(client, topics)
        wrong = [
            name for name, t in found.items() if t.partitions != topic_layout(settings, name)[0]
        ]
        remake = [name for name in wrong if _is_empty(client, found[name])]
        for name in sorted(set(wrong) - set(remake)):
            _WARNINGS.warning(
                log,
                "topic has other partitions than configured, and records: left as it is",
                topic=name,
                partitions=found[name].partitions,
            )
        if remake:
            with contextlib.suppress(UnknownTopicOrPartitionError):  # another was first
                client.delete_topics(remake)
        missing = [name for name in topics if name not in found or name in remake]
        if missing:
            new = [_new_topic(settings, name) for name in missing]
            with contextlib.suppress(TopicAlreadyExistsError):  # another process was first
                client.create_topics(new)
            log.info("topics created", extra={"topics": missing})
        return set(missing)
    finally:
        if own:
            client.close()


def _new_topic(settings: Settings, name: str) -> NewTopic:
    partitions, configs = topic_layout(settings, name)
    return NewTopic(name, partitions, settings.topic_replication_factor, topic_configs=configs)


def _is_empty(client: KafkaAdminClient, topic: Topic) -> bool:
    ends = end_offsets(client, topic.name, list(range(topic.partitions)))
    return not any(ends.values())
