"""Several workers of a service, one relay publishing: the lease (backbone.relay_lease),
on the real database and broker."""

from __future__ import annotations

import collections
import dataclasses
import json
import time

import pytest

from backbone import mongo, outbox
from backbone.kafka import ensure_topics
from backbone.relay import STATE, OutboxRelay
from backbone.relay_lease import RelayLease
from tests.background import running, wait_for
from tests.integration.test_outbox_relay import TOPIC, aggregates
from tests.kafka_reader import read_topic


@pytest.fixture
def state(settings):
    """The relay's state collection in the service's database, where the lease is kept."""
    return mongo.database(settings, "referral")[STATE]


def test_two_relays_of_a_service_publish_each_event_once(settings, state):
    log_collection = state.database["leasetest"]
    outbox.ensure_index(log_collection)
    ensure_topics(settings, [TOPIC])
    made = aggregates(log_collection, 200, events_each=2)
    event_ids = {event_id for ids in made.values() for event_id in ids}
    # Small batches, so that both relays are at work while events wait; a long hold, so
    # that a busy machine's slow loop does not hand the lease over mid-test.
    settings = dataclasses.replace(settings, outbox_batch_size=10, relay_lease_seconds=20)
    first = OutboxRelay([log_collection], settings, [TOPIC])
    second = OutboxRelay([log_collection], settings, [TOPIC])
    with running(first.run), running(second.run):
        assert wait_for(lambda: outbox.backlog([log_collection]).events == 0, 60)
        holders = {first.lease.holder, second.lease.holder}
        assert RelayLease(state, 5).holder_now() in holders

    records = read_topic(
        settings.kafka_bootstrap_servers,
        TOPIC,
        lambda r: event_ids <= {json.loads(x.value)["id"] for x in r},
        60,
    )
    published = collections.Counter(
        json.loads(r.value)["id"] for r in records if json.loads(r.value)["id"] in event_ids
    )
    assert set(published) == event_ids
    assert max(published.values()) == 1, "each event published once, by one relay"


def test_the_lease_passes_at_once_when_given_up_and_after_its_hold_when_not(state):
    a, b = RelayLease(state, 3), RelayLease(state, 3)
    assert a.hold() and not b.hold(), "one holder at a time"
    a.release()  # a relay stopping gives it up
    assert b.hold() and not a.hold()
    assert a.holder_now() == b.holder
    # b is killed outright: it renews no more, and a takes over once the hold has ended.
    time.sleep(3.2)
    assert a.hold()
    assert not b.hold(), "the old holder learns it lost the lease at its next renewal"
