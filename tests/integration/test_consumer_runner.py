"""The consumer runner against the real servers: once-only effects, dead letters, commits,
staying in the group under load, and a topic or a consumer lost midway."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from kafka import KafkaProducer
from kafka.admin import NewTopic
from pymongo.errors import AutoReconnect

from backbone import kafka, metrics, mongo
from backbone.consumer import ConsumerRunner, dead_letter_topic
from backbone.events.catalogue import topic_of
from backbone.events.envelope import encode, new_event
from backbone.kafka import ensure_topics
from backbone.worker import WorkerPlan, consumer_task, run
from services.casework import SOURCE as CASEWORK_SOURCE
from services.referral import SOURCE as REFERRAL_SOURCE
from tests.background import running, wait_for
from tests.factories import referral_received_data
from tests.kafka_reader import read_topic


@pytest.fixture
def topic(settings) -> str:
    name = f"test.consumer.{uuid.uuid4().hex[:8]}"
    client = kafka.admin(settings)
    client.create_topics([NewTopic(name, settings.topic_partitions, 1)])
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
    envelope = new_event("ReferralReceived", REFERRAL_SOURCE, subject, referral_received_data())
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
        [topic],
        {"ReferralReceived": handler},
        mongo.database(settings, "consumertest"),
        settings,
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
    publish(producer, topic, "too-deep", b"[" * 100_000 + b"]" * 100_000)
    producer.send(topic, key=b"tombstone", value=None).get(10)
    publish(producer, topic, "handler-fails")
    publish(producer, topic, "db-blip")
    publish(producer, topic, "s2")

    runner = make_runner(settings, topic, group, view)
    run_until(runner, lambda: {"s1", "s2", "db-blip"} <= set(view.counts()))

    assert view.counts() == {"s1": 1, "s2": 1, "db-blip": 1}
    dead = read_topic(
        settings.kafka_bootstrap_servers, dead_letter_topic(group), lambda r: len(r) >= 4
    )
    errors = {r.key: dict(r.headers)["familyties-error"].decode() for r in dead}
    assert errors[b"not-json"].startswith("not a valid CloudEvents envelope")
    assert errors[b"too-deep"].startswith("not a valid CloudEvents envelope")
    assert errors[b"tombstone"] == "the message has no value (a tombstone?)"
    assert errors[b"handler-fails"] == "RuntimeError"  # its message might quote the data
    assert all(dict(r.headers)["familyties-original-topic"] == topic.encode() for r in dead)

    # Everything was committed after processing: a new runner of the group reads nothing.
    runner.close()
    admin = kafka.admin(settings)
    committed = admin.list_group_offsets(group)[group]
    admin.close()
    assert sum(offset.offset for offset in committed.values()) == 8
    publish(producer, topic, "s3")
    again = make_runner(settings, topic, group, view)
    run_until(again, lambda: "s3" in view.counts())
    assert view.counts() == {"s1": 1, "s2": 1, "db-blip": 1, "s3": 1}
    again.close()
    producer.close()


def test_an_event_on_a_topic_its_service_does_not_own_is_dead_lettered(settings):
    """A CaseDeclined on intake's topic is forged, however well formed: only casework
    declines a case, on its own topic."""
    referrals = topic_of("referral")
    group = f"group-{uuid.uuid4().hex[:6]}"
    ensure_topics(settings, [referrals, dead_letter_topic(group)])
    db = mongo.database(settings, "consumertest")
    view = CountingView(db)
    declined = {
        "case_id": "c1",
        "referral_id": "forged-1",
        "at": "2026-11-23T10:00:00+00:00",
        "by": "someone",
        "reason_for_referrer": "Not for us.",
    }
    forged = new_event("CaseDeclined", CASEWORK_SOURCE, "forged-1", declined)
    producer = kafka.producer(settings)
    producer.send(referrals, key=b"forged-1", value=encode(forged)).get(10)
    publish(producer, referrals, "genuine-1")
    producer.close()
    runner = ConsumerRunner(
        group,
        [referrals],
        {"ReferralReceived": view, "CaseDeclined": view},
        db,
        settings,
        retry_seconds=0.1,
    )

    run_until(runner, lambda: "genuine-1" in view.counts())
    runner.close()

    assert "forged-1" not in view.counts()
    dead = read_topic(settings.kafka_bootstrap_servers, dead_letter_topic(group), lambda r: r)
    errors = {r.key: dict(r.headers)["familyties-error"].decode() for r in dead}
    assert errors[b"forged-1"] == "CaseDeclined is published on familyties.casework.events alone"


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


def test_each_worker_task_says_when_it_last_finished_a_loop_so_a_hung_one_shows(settings, topic):
    group = f"loops-{uuid.uuid4().hex[:6]}"
    db = mongo.database(settings, "consumertest")
    plan = WorkerPlan(
        "looptest",
        topics=[topic, dead_letter_topic(group)],
        tasks={
            "consumer": consumer_task(
                settings, group, [topic], {"ReferralReceived": lambda *_: None}, db
            ),
            "hung": lambda stop: stop.wait(),  # never finishes its first loop
        },
    )

    def last_loop(task: str) -> float | None:
        labels = {"service": "looptest", "task": task}
        return metrics.registry().get_sample_value(
            "familyties_worker_last_loop_timestamp_seconds", labels
        )

    stop = threading.Event()
    worker = threading.Thread(target=run, args=(plan, settings, stop))
    worker.start()
    try:
        assert wait_for(lambda: last_loop("hung") is not None, 45)
        started = last_loop("hung")  # each task counts from the worker's start
        assert wait_for(lambda: last_loop("consumer") > started + 1, 45)
        assert last_loop("hung") == started
    finally:
        stop.set()
        worker.join(30)


def consuming(settings, group: str, topic: str, handler):
    """The group's consumer task, as a worker runs it, in a thread."""
    db = mongo.database(settings, "consumertest")
    return running(consumer_task(settings, group, [topic], {"ReferralReceived": handler}, db))


def test_a_topic_made_again_is_read_again_from_its_start(settings, topic):
    """A broker that lost its log: the consumer's old offsets would skip the new records."""
    settings = dataclasses.replace(settings, broker_check_seconds=0.2)
    group = f"rewind-{uuid.uuid4().hex[:6]}"
    view = CountingView(mongo.database(settings, "consumertest"))
    producer = kafka.producer(settings)
    with consuming(settings, group, topic, view):
        for n in range(6):
            publish(producer, topic, f"before-{n}")
        assert wait_for(lambda: len(view.counts()) == 6, 45)
        client = kafka.admin(settings)
        client.delete_topics([topic])
        client.create_topics([NewTopic(topic, settings.topic_partitions, 1)])
        client.close()
        producer.close()
        producer = kafka.producer(settings)
        for n in range(6):
            publish(producer, topic, f"after-{n}")
        assert wait_for(lambda: len(view.counts()) == 12, 45), view.counts()
    producer.close()
    assert set(view.counts().values()) == {1}


def test_a_poll_stops_processing_in_time_and_the_rest_follows(settings, topic):
    """A slow database: the consumer keeps polling within its limit and loses nothing."""
    settings = dataclasses.replace(settings, consumer_max_poll_interval_ms=2_000)
    group = f"slow-{uuid.uuid4().hex[:6]}"
    view = CountingView(mongo.database(settings, "consumertest"))

    def slow(event, session):
        time.sleep(0.25)
        view(event, session)

    producer = kafka.producer(settings)
    for n in range(8):
        envelope = new_event(
            "ReferralReceived", REFERRAL_SOURCE, f"slow-{n}", referral_received_data()
        )
        producer.send(topic, key=b"one-partition", value=encode(envelope)).get(10)
    producer.close()
    runner = make_runner(settings, topic, group, slow)
    stop, polls = threading.Event(), []
    deadline = time.monotonic() + 45
    while len(view.counts()) < 8 and time.monotonic() < deadline:
        polls.append(runner.poll_once(stop))
    runner.close()
    assert view.counts() == {f"slow-{n}": 1 for n in range(8)}
    assert max(polls) < 8, "each poll processed only what fits in its time"


def test_lag_and_the_age_of_the_oldest_unprocessed_event_per_partition(settings):
    settings = dataclasses.replace(settings, consumer_max_poll_records=4)
    topic = f"test.lag.{uuid.uuid4().hex[:8]}"
    client = kafka.admin(settings)
    client.create_topics([NewTopic(topic, 1, 1)])
    client.close()
    producer = kafka.producer(settings)
    for n in range(10):
        publish(producer, topic, f"lag-{n}")
    producer.close()
    group = f"lag-{uuid.uuid4().hex[:6]}"
    view = CountingView(mongo.database(settings, "consumertest"))
    runner = make_runner(settings, topic, group, view)
    labels = {"group": group, "topic": topic, "partition": "0"}

    def sample(name: str) -> float | None:
        return metrics.registry().get_sample_value(name, labels)

    stop, processed = threading.Event(), 0
    while processed == 0:
        processed = runner.poll_once(stop)
    assert processed == 4
    assert sample("familyties_consumer_lag_events") == 10 - 4  # records left on the partition
    assert sample("familyties_consumer_oldest_unprocessed_age_seconds") > 0
    while len(view.counts()) < 10:
        runner.poll_once(stop)
    runner.close()
    assert sample("familyties_consumer_lag_events") == 0
    assert sample("familyties_consumer_oldest_unprocessed_age_seconds") == 0


def test_a_consumer_killed_mid_transaction_holds_up_its_successor_briefly(settings, tmp_path):
    """Its open transaction would hold the event's writes for the database's transaction
    lifetime (60 s); the successor ends the dead consumer's session instead."""
    topic = f"test.killed.{uuid.uuid4().hex[:8]}"
    client = kafka.admin(settings)
    client.create_topics([NewTopic(topic, 1, 1)])
    client.close()
    producer = kafka.producer(settings)
    for subject in ["first", "stall", "next-1", "next-2"]:
        publish(producer, topic, subject)
    producer.close()
    group = f"killed-{uuid.uuid4().hex[:6]}"
    stalled = tmp_path / "stalled"
    env = os.environ | {
        "MONGODB_URI": settings.mongodb_uri,
        "MONGODB_DATABASE_PREFIX": settings.database_prefix,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
    }
    command = [sys.executable, "-m", "tests.integration.stalling_consumer", group, topic]
    with (tmp_path / "consumer.log").open("wb") as log:
        first = subprocess.Popen([*command, str(stalled)], env=env, stdout=log, stderr=log)
        assert wait_for(stalled.exists, 60), "the consumer never reached the event"
        first.send_signal(signal.SIGKILL)
        first.wait()

    killed_at = time.monotonic()
    view = CountingView(mongo.database(settings, "consumertest"))
    runner = make_runner(settings, topic, group, view)
    stop = threading.Event()
    while "next-2" not in view.counts() and time.monotonic() - killed_at < 45:
        runner.poll_once(stop)
    runner.close()
    resumed = time.monotonic() - killed_at
    print(f"the successor had every event {resumed:.1f} s after the kill")
    assert view.counts() == {"first": 1, "stall": 1, "next-1": 1, "next-2": 1}
    assert resumed < 30  # rather than the 60 s the dead transaction would hold them
