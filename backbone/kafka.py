"""Kafka clients built from the settings, and topic creation."""

from __future__ import annotations

import contextlib
import logging

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from backbone.settings import Settings

log = logging.getLogger(__name__)


def producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id="familyties",
        acks="all",
        # The broker drops the producer's own retries of a record it already has, and
        # keeps each partition's order.
        enable_idempotence=True,
        linger_ms=5,
        request_timeout_ms=10_000,
        # A record waits this long for a broker that is away before it fails; the relay
        # waits with it rather than sending it again, so an outage makes no copies.
        delivery_timeout_ms=settings.producer_delivery_timeout_ms,
        max_block_ms=10_000,
    )


def consumer(settings: Settings, group: str, topics: list[str]) -> KafkaConsumer:
    return KafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group,
        client_id=group,
        enable_auto_commit=False,  # offsets are committed after processing
        auto_offset_reset="earliest",
        max_poll_interval_ms=settings.consumer_max_poll_interval_ms,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
        max_poll_records=100,
    )


def admin(settings: Settings, timeout_ms: int = 10_000) -> KafkaAdminClient:
    return KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id="familyties-admin",
        request_timeout_ms=timeout_ms,
    )


def ensure_topics(settings: Settings, topics: list[str]) -> None:
    """Create the topics that do not exist yet. Raises KafkaError if the broker is away."""
    client = admin(settings)
    try:
        existing = set(client.list_topics())
        missing = [
            NewTopic(
                name,
                num_partitions=settings.topic_partitions,
                replication_factor=settings.topic_replication_factor,
            )
            for name in topics
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process was first
                client.create_topics(missing)
            log.info("topics created", extra={"topics": [t.name for t in missing]})
    finally:
        client.close()
