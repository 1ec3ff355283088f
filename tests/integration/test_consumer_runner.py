"""The consumer runner against the real servers: once-only effects, dead letters, commits."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from kafka import KafkaProducer
from kafka.admin import NewTopic
from pymongo.errors import AutoReconnect

from backbone import kafka, mongo
from backbone.consumer import ConsumerRunner, dead_letter_topic
from backbone.events.envelope import encode, new_event
from backbone.kafka import ensure_topics
from backbone.worker import WorkerPlan, consumer_task, run
from tests.factories import referral_received_data
from tests.kafka_reader import read_topic


@pytest.fixture
def topic(settings) -> str:
    name = f"test.consumer.{uuid.uuid4().hex[:8]}"
    client = kafka.admin(settings)
    client.create_topics([NewTopic(name, num_partitions=2, replication_factor=1)])
    client.close()
    return name


class CountingView:
    """A handler that counts, per subject, how often its change was applied."""

    def __init__(self, db, fail_for: str = "", transient_once_for: str = "") -> None:
        self.view = db["view"]
        self.fail_for = fail_for
        self.transient_once_for = transient_once_for

    def __call__(self, event, session) -> None:
        if event.subject == self.fail_for:
            raise RuntimeError("the handler cannot apply this event")
        if event.subject == self.transient_once_for:
            self.transient_once_for = ""
            raise AutoReconnect("the database went away for a moment")
        self.view.update_one(
            {"_id": event.subject}, {"$inc": {"applied": 1}}, upsert=True, session=session
        )

    def counts(self) -> dict[str, int]:
        return {doc["_id"]: doc["applied"] for doc in self.view.find()}


def publish(producer: KafkaProducer, topic: str, subject: str, value: bytes | None = None) -> dict:
    envelope = new_event("ReferralReceived", "/test", subject, referral_received_data())
    producer.send(topic, key=subject.encode(), value=value or encode(envelope)).get(10)
    return envelope


def run_until(runner: ConsumerRunner, done, timeout: float = 45) -> None:
    stop = threading.Event()
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        runner.poll_once(stop)
    assert done(), "the consumer did not finish in time"


def make_runner(settings, topic, group, handler) -> ConsumerRunner:
    return ConsumerRunner(
        group,
        kafka.consumer(settings, group, [topic]),
        {"ReferralReceived": handler},
        mongo.database(settings, "consumertest"),
        kafka.producer(settings),
        retry_seconds=0.1,
    )


def test_redelivered_events_change_the_view_once_and_poison_goes_to_dead_letters(settings, topic):
    group = f"group-{uuid.uuid4().hex[:6]}"
    ensure_topics(settings, [dead_letter_topic(group)])
    db = mongo.database(settings, "consumertest")
    view = CountingView(db, fail_for="handler-fails", transient_once_for="db-blip")
    producer = kafka.producer(settings)
    first = publish(producer, topic, "s1")
    producer.send(topic, key=b"s1", value=encode(first)).get(10)  # the same event again
    publish(producer, topic, "not-json", b"{this is not an event")
    producer.send(topic, key=b"tombstone", value=None).get(10)
    publish(producer, topic, "handler-fails")
    publish(producer, topic, "db-blip")
    publish(producer, topic, "s2")

    runner = make_runner(settings, topic, group, view)
    run_until(runner, lambda: {"s1", "s2", "db-blip"} <= set(view.counts()))

    assert view.counts() == {"s1": 1, "s2": 1, "db-blip": 1}
    dead = read_topic(
        settings.kafka_bootstrap_servers, dead_letter_topic(group), lambda r: len(r) >= 3
    )
    errors = {r.key: dict(r.headers)["familyties-error"].decode() for r in dead}
    assert errors[b"not-json"].startswith("not a valid CloudEvents envelope")
    assert errors[b"tombstone"] == "the message has no value (a tombstone?)"
    assert errors[b"handler-fails"] == "RuntimeError"  # its message might quote the data
    assert all(dict(r.headers)["familyties-original-topic"] == topic.encode() for r in dead)

    # Everything was committed after processing: a new runner of the group reads nothing.
    runner.consumer.close()
    admin = kafka.admin(settings)
    committed = admin.list_group_offsets(group)[group]
    admin.close()
    assert sum(offset.offset for offset in committed.values()) == 7
    publish(producer, topic, "s3")
    again = make_runner(settings, topic, group, view)
    run_until(again, lambda: "s3" in view.counts())
    assert view.counts() == {"s1": 1, "s2": 1, "db-blip": 1, "s3": 1}
    for client in (again.consumer, again.producer, runner.producer, producer):
        client.close()


def test_a_worker_plan_runs_its_consumer_and_creates_its_dead_letter_topic(settings, topic):
    group = f"worker-{uuid.uuid4().hex[:6]}"
    db = mongo.database(settings, "consumertest")
    view = CountingView(db)
    plan = WorkerPlan(
        "test",
        topics=[topic, dead_letter_topic(group)],
        tasks={"consumer": consumer_task(settings, group, [topic], {"ReferralReceived": view}, db)},
    )
    stop = threading.Event()
    worker = threading.Thread(target=run, args=(plan, settings, stop))
    worker.start()
    try:
        producer = kafka.producer(settings)
        publish(producer, topic, "via-worker")
        producer.close()
        deadline = time.monotonic() + 45
        while "via-worker" not in view.counts() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert view.counts() == {"via-worker": 1}
        admin = kafka.admin(settings)
        assert dead_letter_topic(group) in admin.list_topics()
        admin.close()
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()
