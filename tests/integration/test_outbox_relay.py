"""The outbox relay against the real servers: what is written is published, in order, and
a broker that loses its log is given it again."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import timedelta

import pytest
from kafka.admin import NewTopic

from backbone import kafka, mongo, outbox
from backbone.clock import now
from backbone.events.catalogue import topic_of
from backbone.events.envelope import decode, new_event
from backbone.ids import event_id_floor
from backbone.kafka import ensure_topics
from backbone.relay import OutboxRelay, request_republish
from services.referral import SOURCE
from services.referral.repository import Referrals
from tests import servers
from tests.background import running
from tests.factories import referral, referral_received_data, stored_referral
from tests.kafka_reader import read_topic, subjects_seen

TOPIC = topic_of("referral")


def event_for(subject: str) -> dict:
    return new_event("ReferralReceived", SOURCE, subject, referral_received_data())


def aggregates(collection, count: int, events_each: int = 1) -> dict[str, list[str]]:
    """`count` documents with `events_each` events each: {subject: [event ids in order]}."""
    made = {}
    for n in range(count):
        subject = f"{n}-{uuid.uuid4()}"
        events = [event_for(subject) for _ in range(events_each)]
        collection.insert_one(outbox.with_events({"_id": subject}, *events))
        made[subject] = [e["id"] for e in events]
    return made


def event_ids_by_subject(records, subjects) -> dict[str, list[str]]:
    seen = defaultdict(list)
    for record in records:
        if record.key and record.key.decode() in subjects:
            seen[record.key.decode()].append(json.loads(record.value)["id"])
    return seen


@pytest.fixture
def log_collection(settings):
    collection = mongo.database(settings, "referral")["relaytest"]
    outbox.ensure_index(collection)
    return collection


def test_pending_events_are_published_keyed_by_aggregate_in_order(settings, log_collection):
    ensure_topics(settings, [TOPIC])
    a, b = f"a-{uuid.uuid4()}", f"b-{uuid.uuid4()}"
    first, second = event_for(a), event_for(a)
    log_collection.insert_one(outbox.with_events({"_id": a}, first))
    log_collection.update_one({"_id": a}, outbox.append_events({}, second))
    log_collection.insert_one(outbox.with_events({"_id": b}, event_for(b)))
    assert outbox.backlog([log_collection]).events == 3

    relay = OutboxRelay([log_collection], settings, [TOPIC])
    assert relay.relay_once() == 3
    assert relay.relay_once() == 0
    relay.close()

    assert outbox.backlog([log_collection]) == outbox.Backlog(0, None)
    logged = log_collection.find_one({"_id": a})["events"]
    assert [e["id"] for e in logged] == [first["id"], second["id"]]  # kept in the log
    records = read_topic(
        settings.kafka_bootstrap_servers, TOPIC, lambda r: {a, b} <= subjects_seen(r)
    )
    of_a = [r for r in records if r.key == a.encode()]
    assert [decode(r.value).id for r in of_a] == [first["id"], second["id"]]
    assert len({r.partition for r in of_a}) == 1
    assert dict(of_a[0].headers)["content-type"] == b"application/cloudevents+json"


def test_an_event_of_a_type_this_relay_does_not_know_waits_and_blocks_no_other(
    settings, log_collection
):
    ensure_topics(settings, [TOPIC])
    future = {**event_for("newer"), "type": "ReferralTeleported"}  # from a newer release
    known = f"known-{uuid.uuid4()}"
    log_collection.insert_one(outbox.with_events({"_id": "newer"}, future))
    log_collection.insert_one(outbox.with_events({"_id": known}, event_for(known)))

    relay = OutboxRelay([log_collection], settings, [TOPIC])
    assert relay.relay_once() == 1
    relay.close()
    assert log_collection.find_one({"_id": "newer"})["outbox"] == [future]
    assert log_collection.find_one({"_id": known})["outbox"] == []


def test_relay_killed_in_the_middle_of_a_batch_loses_nothing(settings, tmp_path):
    """SIGKILL after part of a batch reached Kafka but before it was marked published."""
    ensure_topics(settings, [TOPIC])
    referrals = Referrals(mongo.database(settings, "referral"))
    referrals.ensure_indexes()
    records = [stored_referral(referral(n + 1), str(uuid.uuid4())) for n in range(1500)]
    referrals.collection.insert_many(records)
    ids = {r["_id"] for r in records}
    event_ids = {r["outbox"][0]["id"] for r in records}

    env = os.environ | {
        "MONGODB_URI": settings.mongodb_uri,
        "MONGODB_DATABASE_PREFIX": settings.database_prefix,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "OUTBOX_BATCH_SIZE": "1500",  # one batch: any kill after the first send is mid-batch
    }
    command = [sys.executable, "-m", "services.cli", "worker", "referral"]
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    read_topic(settings.kafka_bootstrap_servers, TOPIC, lambda r: bool(ids & subjects_seen(r)), 60)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert outbox.backlog([referrals.collection]).events > 0, "the kill came after the batch ended"

    worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while outbox.backlog([referrals.collection]).events and time.monotonic() < deadline:
            time.sleep(0.5)
        assert outbox.backlog([referrals.collection]).events == 0
    finally:
        worker.terminate()
        worker.wait(20)
        log.close()

    published = read_topic(
        settings.kafka_bootstrap_servers,
        TOPIC,
        lambda r: event_ids <= {json.loads(x.value)["id"] for x in r},
        60,
    )
    ours = [json.loads(r.value) for r in published if r.key.decode() in ids]
    assert {e["id"] for e in ours} == event_ids  # every referral's one event id, none lost
    assert {e["subject"] for e in ours} == ids


@pytest.fixture
def restartable_broker(logs_dir):
    """A broker of this test's own, on a port that stays the same across restarts."""
    port = servers.free_port()
    holder = {}

    def start():
        holder["context"] = servers.broker(logs_dir, port)
        holder["context"].__enter__()

    def kill():
        holder.pop("context").__exit__(None, None, None)

    start()
    yield f"127.0.0.1:{port}", start, kill
    if "context" in holder:
        kill()


def test_a_broker_that_lost_its_log_is_given_it_again_in_order(
    settings, log_collection, restartable_broker
):
    bootstrap, start_broker, kill_broker = restartable_broker
    settings = dataclasses.replace(
        settings, kafka_bootstrap_servers=bootstrap, broker_check_seconds=0.5
    )
    ensure_topics(settings, [TOPIC])
    before = aggregates(log_collection, 30, events_each=2)
    relay = OutboxRelay([log_collection], settings, [TOPIC])
    with running(relay.run):
        published = read_topic(bootstrap, TOPIC, lambda r: set(before) <= subjects_seen(r), 60)
        assert outbox.backlog([log_collection]).events == 0

        kill_broker()  # a broker without storage: its log and topics are gone
        start_broker()
        lost_at = time.monotonic()
        after = aggregates(log_collection, 5)  # and the service carries on meanwhile
        everything = before | after
        healed = read_topic(
            bootstrap,
            TOPIC,
            lambda r: set(everything) <= subjects_seen(r),
            timeout=90,
            partitions=settings.topic_partitions,
        )
        heal_seconds = time.monotonic() - lost_at

    assert len(published) >= 60
    seen = event_ids_by_subject(healed, everything)
    assert seen == everything, "every event again, each aggregate's in its order"
    topic = kafka.describe(kafka.admin(settings), [TOPIC])[TOPIC]
    assert topic.partitions == settings.topic_partitions
    print(f"healed {len(healed)} events {heal_seconds:.1f} s after the broker restarted")


def test_an_operator_can_republish_a_services_events_since_a_time(
    settings, log_collection, familyties
):
    ensure_topics(settings, [TOPIC])
    referrals = Referrals(mongo.database(settings, "referral"))
    referrals.ensure_indexes()
    old = [stored_referral(referral(n + 1), str(uuid.uuid4())) for n in range(3)]
    referrals.collection.insert_many(old)
    cut = now() + timedelta(milliseconds=5)
    time.sleep(0.02)
    new = [stored_referral(referral(n + 10), str(uuid.uuid4())) for n in range(2)]
    referrals.collection.insert_many(new)
    relay = OutboxRelay([referrals.collection], settings, [TOPIC])
    assert relay.relay_once() == 5
    # One more, made before the cut and not yet published (the broker was away): it waits.
    waiting = stored_referral(referral(20), str(uuid.uuid4()))
    early = event_id_floor(cut - timedelta(seconds=1))
    waiting["events"][0]["id"] = waiting["outbox_since"] = early  # events and outbox share it
    referrals.collection.insert_one(waiting)

    result = familyties("events", "republish", "referral", "--since", cut.isoformat())
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2 events of referral will be published again")
    relay.check_broker()  # where the running worker acts on the request
    assert not relay.put_back_more(), "a short log goes back in one step"
    assert outbox.backlog([referrals.collection]).events == 3, "the waiting one still waits"
    assert relay.relay_once() == 3
    relay.close()

    ids = {r["_id"] for r in new}
    subjects = ids | {r["_id"] for r in old}
    records = read_topic(
        settings.kafka_bootstrap_servers,
        TOPIC,
        lambda r: all(len(event_ids_by_subject(r, ids)[i]) == 2 for i in ids),
        settle=1,
    )
    copies = event_ids_by_subject(records, subjects)
    assert all(len(copies[i]) == 2 for i in ids), "the new ones went out again"
    assert all(len(copies[r["_id"]]) == 1 for r in old), "the old ones did not"
    assert len(event_ids_by_subject(records, {waiting["_id"]})[waiting["_id"]]) == 1


def test_a_long_log_goes_back_into_the_outbox_a_batch_at_a_time(settings, log_collection):
    """The local database reads every pending document to find the oldest: a republish
    keeps the outbox short."""
    settings = dataclasses.replace(settings, outbox_batch_size=5)
    ensure_topics(settings, [TOPIC])
    published = [stored_referral(referral(), str(uuid.uuid4())) for _ in range(23)]
    log_collection.insert_many([{**doc, "outbox": [], "outbox_since": None} for doc in published])
    relay = OutboxRelay([log_collection], settings, [TOPIC])
    request_republish(log_collection.database, "", "asked for by a test")
    relay.check_broker()
    backlogs, sent, more = [], 0, True
    while more or backlogs[-1]:
        backlogs.append(outbox.backlog([log_collection]).events)
        sent += relay.relay_once()
        more = relay.put_back_more()
    relay.close()
    assert sent == 23
    assert max(backlogs) == 5


def test_republish_refuses_a_time_it_cannot_read_and_a_service_without_events(familyties):
    bad_time = familyties("events", "republish", "referral", "--since", "last tuesday")
    assert bad_time.exit_code == 2
    assert "ISO 8601" in bad_time.output
    no_log = familyties("events", "republish", "reporting")
    assert no_log.exit_code == 1
    assert "reporting publishes no events" in no_log.output


def test_a_topic_the_broker_made_with_other_partitions_is_remade_while_empty(settings):
    client = kafka.admin(settings)
    empty, used = f"test.empty.{uuid.uuid4().hex[:6]}", f"test.used.{uuid.uuid4().hex[:6]}"
    client.create_topics([NewTopic(empty, 4, 1), NewTopic(used, 4, 1)])
    producer = kafka.producer(settings)
    producer.send(used, b"a record").get(10)
    producer.close()

    made = ensure_topics(settings, [empty, used])

    found = kafka.describe(client, [empty, used])
    client.close()
    assert made == {empty}
    assert found[empty].partitions == settings.topic_partitions
    assert found[used].partitions == 4  # it holds records: left for a person to decide
