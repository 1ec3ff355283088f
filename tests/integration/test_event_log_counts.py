"""Each publishing service says on Kafka how many events it has published, against the real
servers: what the relay published is counted, what waits in the outbox is not, and a
republish changes nothing."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import uuid

import pytest

from backbone import kafka, mongo, outbox
from backbone.clock import now
from backbone.events.catalogue import topic_of
from backbone.events.envelope import new_event
from backbone.ids import new_event_id
from backbone.log_counts import (
    STATE_ID,
    TOPIC,
    LogCount,
    LogCountPublisher,
    read_event_log_counts,
)
from backbone.relay import STATE, OutboxRelay, request_republish
from services.referral import SOURCE
from services.referral.partners import Partners
from services.referral.repository import Referrals
from tests import servers
from tests.background import wait_for
from tests.factories import referral, referral_received_data, stored_referral

EVENTS = topic_of("referral")
LOG = outbox.LOG_FIELDS
MARGIN = 0.2


def event_for(subject: str) -> dict:
    return new_event("ReferralReceived", SOURCE, subject, referral_received_data())


def write(collection, documents: int, events_each: int = 1) -> list[str]:
    """New documents with events waiting in their outbox; their event ids."""
    ids = []
    for _ in range(documents):
        subject = str(uuid.uuid4())
        events = [event_for(subject) for _ in range(events_each)]
        collection.insert_one(outbox.with_events({"_id": subject}, *events))
        ids += [event["id"] for event in events]
    return ids


def publish_all(relay: OutboxRelay) -> None:
    while relay.relay_once() or relay.put_back_more():
        pass


def said(settings, service: str):
    return read_event_log_counts(settings)[service]


def counted(settings, service: str) -> int | None:
    count = read_event_log_counts(settings).get(service)
    return None if count is None else count.events


@pytest.fixture
def counting(settings):
    """A collection of the event log, its relay and its counter, under a service name of
    this test's own (the counts topic is shared by the tests' broker)."""
    settings = dataclasses.replace(settings, event_log_count_margin_seconds=MARGIN)
    kafka.ensure_topics(settings, [EVENTS, TOPIC])
    collection = mongo.database(settings, "referral")["counted"]
    outbox.ensure_index(collection)
    service = f"test-{uuid.uuid4().hex[:8]}"
    relay = OutboxRelay([collection], settings, [EVENTS])
    publisher = LogCountPublisher(service, [collection], settings)
    yield settings, collection, service, relay, publisher
    relay.close()
    publisher.close()


def test_the_count_says_every_published_event_and_no_waiting_one(counting):
    settings, collection, service, relay, publisher = counting
    first = write(collection, 10, events_each=2)
    publish_all(relay)
    time.sleep(MARGIN)
    publisher.publish_once()
    count = said(settings, service)
    assert (count.events, count.through) == (20, max(first))

    # An event made before these but still waiting (the broker refused it): nothing after
    # it is counted either, until it is published.
    waiting = event_for("late")
    time.sleep(0.005)
    later = write(collection, 5)
    publish_all(relay)
    collection.insert_one(outbox.with_events({"_id": "late"}, waiting))
    newest_waiting = write(collection, 3)  # made last, not yet published
    time.sleep(MARGIN)
    assert publisher.publish_once() is None, "unchanged: not said again"
    assert said(settings, service).events == 20

    publish_all(relay)
    time.sleep(MARGIN)
    publisher.publish_once()
    count = said(settings, service)
    assert (count.events, count.through) == (29, max(newest_waiting))
    assert count.through > max(later) > waiting["id"]
    record = collection.database[STATE].find_one({"_id": STATE_ID})
    assert (record["events"], record["through"]) == (29, count.through)


def test_events_made_within_the_margin_wait_for_the_next_count(counting):
    settings, collection, service, relay, publisher = counting
    settings = dataclasses.replace(settings, event_log_count_margin_seconds=30)
    publisher.settings = settings
    write(collection, 4)
    publish_all(relay)
    assert publisher.publish_once().events == 0  # published, but made under 30 s ago
    assert said(settings, service).events == 0


def test_a_republish_changes_no_count_and_the_count_is_said_again_after_it(counting):
    settings, collection, service, relay, publisher = counting
    ids = write(collection, 12, events_each=2)
    publish_all(relay)
    time.sleep(MARGIN)
    before = publisher.publish_once()
    assert before.events == 24

    request_republish(collection.database, "", "asked for by a test")
    relay.check_broker()  # puts the log back into the outbox
    assert outbox.backlog([collection]).events == 24
    assert publisher.publish_once() is None, "nothing said while the log goes out again"
    publish_all(relay)
    time.sleep(MARGIN)
    again = publisher.publish_once()
    assert (again.events, again.through) == (24, max(ids))
    counts = read_event_log_counts(settings)
    assert (counts[service].events, counts[service].through) == (24, max(ids))


def test_a_second_counter_of_the_same_log_does_not_count_twice(counting):
    settings, collection, service, relay, publisher = counting
    other = LogCountPublisher(service, [collection], settings)
    write(collection, 3)
    publish_all(relay)
    time.sleep(MARGIN)
    assert publisher.publish_once().events == 3
    write(collection, 2)
    publish_all(relay)
    time.sleep(MARGIN)
    assert other.publish_once().events == 5
    assert publisher.publish_once().events == 5
    other.close()
    assert said(settings, service).events == 5


def test_the_worker_makes_the_topic_and_says_its_services_count(settings, logs_dir, tmp_path):
    """The real worker process, on a broker of this test's own. Its count is of every
    collection of its event log: 30 referrals' events, and partners' (one made before
    partners were announced, which the worker announces when it starts)."""
    with servers.broker(logs_dir) as (bootstrap, _):
        settings = dataclasses.replace(settings, kafka_bootstrap_servers=bootstrap)
        referrals = Referrals(mongo.database(settings, "referral"))
        referrals.ensure_indexes()
        records = [stored_referral(referral(n + 1), str(uuid.uuid4())) for n in range(30)]
        referrals.collection.insert_many(records)
        partners = Partners(referrals.collection.database)
        old, _ = partners.create("Routes out of Prison Lanarkshire")
        partners.collection.update_one({"_id": old["_id"]}, {"$unset": dict.fromkeys(LOG, "")})
        partners.create("Routes out of Prison Glasgow")
        env = os.environ | {
            "MONGODB_URI": settings.mongodb_uri,
            "MONGODB_DATABASE_PREFIX": settings.database_prefix,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "BROKER_CHECK_SECONDS": "0.5",
            "EVENT_LOG_COUNT_MARGIN_SECONDS": str(MARGIN),
        }
        command = [sys.executable, "-m", "services.cli", "worker", "referral"]
        with (tmp_path / "worker.log").open("wb") as log:
            worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                assert wait_for(lambda: counted(settings, "referral") == 32, timeout=20), (
                    tmp_path / "worker.log"
                ).read_text()[-2000:]
            finally:
                worker.terminate()
                worker.wait(20)
        count = read_event_log_counts(settings)["referral"]
        announced = partners.collection.find_one({"_id": old["_id"]})["events"][0]["id"]
        assert count.through == announced  # the newest event: made when the worker started
        topic = kafka.describe(kafka.admin(settings), [TOPIC])[TOPIC]
        assert topic.partitions == 1


def test_reading_the_counts_of_a_broker_that_has_none_answers_none(settings, logs_dir):
    with servers.broker(logs_dir) as (bootstrap, _):
        assert (
            read_event_log_counts(dataclasses.replace(settings, kafka_bootstrap_servers=bootstrap))
            == {}
        )


def test_the_latest_count_of_each_service_is_read_and_anything_else_skipped(settings):
    kafka.ensure_topics(settings, [TOPIC])
    a, b = f"test-{uuid.uuid4().hex[:8]}", f"test-{uuid.uuid4().hex[:8]}"
    at, last = now(), new_event_id()
    sent = [
        (a, LogCount(a, new_event_id(), 3, at).encode()),
        (b, LogCount(b, new_event_id(), 7, at).encode()),
        (a, b"not a count"),
        (b, LogCount(a, new_event_id(), 99, at).encode()),  # under another service's key
        (a, LogCount(a, last, 4, at).encode()),
    ]
    producer = kafka.producer(settings)
    for key, value in sent:
        producer.send(TOPIC, key=key.encode(), value=value).get(10)
    producer.close()
    counts = read_event_log_counts(settings)
    assert counts[a] == LogCount(a, last, 4, at)
    assert counts[b].events == 7
