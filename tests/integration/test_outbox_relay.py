"""The outbox relay against the real servers: what is written is published, in order."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

from backbone import kafka, mongo, outbox
from backbone.events.catalogue import topic_of
from backbone.events.envelope import decode, new_event
from backbone.kafka import ensure_topics
from backbone.outbox import OutboxRelay
from services.referral import SOURCE
from services.referral.repository import Referrals
from tests.factories import referral, referral_received_data, stored_referral
from tests.kafka_reader import read_topic, subjects_seen

TOPIC = topic_of("referral")


def event_for(subject: str) -> dict:
    return new_event("ReferralReceived", SOURCE, subject, referral_received_data())


def test_pending_events_are_published_keyed_by_aggregate_in_order(settings):
    ensure_topics(settings, [TOPIC])
    collection = mongo.database(settings, "referral")["relaytest"]
    outbox.ensure_index(collection)
    a, b = f"a-{uuid.uuid4()}", f"b-{uuid.uuid4()}"
    first, second = event_for(a), event_for(a)
    collection.insert_one(outbox.with_events({"_id": a}, first))
    collection.update_one({"_id": a}, outbox.push_events(second))
    collection.insert_one(outbox.with_events({"_id": b}, event_for(b)))
    assert outbox.backlog([collection]) == 3

    producer = kafka.producer(settings)
    relay = OutboxRelay([collection], producer)
    assert relay.relay_once() == 3
    assert relay.relay_once() == 0
    producer.close()

    assert outbox.backlog([collection]) == 0
    records = read_topic(
        settings.kafka_bootstrap_servers, TOPIC, lambda r: {a, b} <= subjects_seen(r)
    )
    of_a = [r for r in records if r.key == a.encode()]
    assert [decode(r.value).id for r in of_a] == [first["id"], second["id"]]
    assert len({r.partition for r in of_a}) == 1
    assert dict(of_a[0].headers)["content-type"] == b"application/cloudevents+json"


def test_an_event_of_a_type_this_relay_does_not_know_waits_and_blocks_no_other(settings):
    ensure_topics(settings, [TOPIC])
    collection = mongo.database(settings, "referral")["relaytest"]
    outbox.ensure_index(collection)
    future = {**event_for("newer"), "type": "ReferralTeleported"}  # from a newer release
    known = f"known-{uuid.uuid4()}"
    collection.insert_one(outbox.with_events({"_id": "newer"}, future))
    collection.insert_one(outbox.with_events({"_id": known}, event_for(known)))

    producer = kafka.producer(settings)
    assert OutboxRelay([collection], producer).relay_once() == 1
    producer.close()
    assert collection.find_one({"_id": "newer"})["outbox"] == [future]
    assert collection.find_one({"_id": known})["outbox"] == []


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
    assert outbox.backlog([referrals.collection]) > 0, "the kill came after the batch ended"

    worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while outbox.backlog([referrals.collection]) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert outbox.backlog([referrals.collection]) == 0
    finally:
        worker.terminate()
        worker.wait(20)
        log.close()

    published = read_topic(
        settings.kafka_bootstrap_servers, TOPIC,
        lambda r: event_ids <= {json.loads(x.value)["id"] for x in r}, 60,
    )  # fmt: skip
    ours = [json.loads(r.value) for r in published if r.key.decode() in ids]
    assert {e["id"] for e in ours} == event_ids  # every referral's one event id, none lost
    assert {e["subject"] for e in ours} == ids
