"""Partners post referrals over HTTP; ReferralReceived reaches Kafka. Faults lose nothing."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
import requests

from backbone.events.catalogue import topic_of
from backbone.events.envelope import decode
from tests.background import wait_for
from tests.e2e.stack import Stack
from tests.factories import referral
from tests.kafka_reader import read_topic, subjects_seen

pytestmark = pytest.mark.e2e
TOPIC = topic_of("referral")


@pytest.fixture(scope="module")
def partner(stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.new_partner_key('Routes out of Prison Glasgow')}"}


def post(stack: Stack, partner: dict, body: dict) -> requests.Response:
    return requests.post(
        f"{stack.url('referral')}/v1/referrals", json=body, headers=partner, timeout=10
    )


def published_total(stack: Stack) -> float:
    metrics = requests.get(f"{stack.url('referral')}/metrics", timeout=5).text
    [line] = [m for m in metrics.splitlines() if m.startswith("familyties_events_published_total ")]
    return float(line.split()[1])


def test_a_posted_referral_reaches_kafka_as_referral_received(stack, partner):
    ids = {}
    for body in [referral(n) for n in range(1, 6)]:
        response = post(stack, partner, body)
        assert response.status_code == 201
        ids[response.json()["id"]] = body

    records = read_topic(stack.broker, TOPIC, lambda r: set(ids) <= subjects_seen(r), 60)
    events = {decode(r.value).subject: decode(r.value) for r in records if r.key.decode() in ids}
    assert set(events) == set(ids)
    for referral_id, event in events.items():
        assert event.type == "ReferralReceived"
        assert event.data["referral_id"] == referral_id
        assert event.data["partner_name"] == "Routes out of Prison Glasgow"
        assert event.data["family_member"]["name"] == ids[referral_id]["family_member"]["name"]
        assert event.data["needs"] == ids[referral_id]["needs"]

    # counted by the worker once it has marked the events published, shown by the web process
    assert wait_for(lambda: published_total(stack) >= 5, timeout=30)

    log = stack.log_path.read_text()
    assert '"route": "/v1/referrals", "status": 201' in log  # requests are logged...
    for body in ids.values():  # ...but never the people in them
        family = body["family_member"]
        for secret in (family["name"], family["contact"]["phone"], family["safe_contact_notes"]):
            assert secret not in log
        assert body["reason"] not in log


def test_with_the_broker_paused_intake_answers_and_every_event_arrives_once(stack, partner):
    stack.pause("broker")
    try:
        responses = [post(stack, partner, referral(100 + n)) for n in range(50)]
        assert [r.status_code for r in responses] == [201] * 50
        readiness = requests.get(f"{stack.url('referral')}/readyz", timeout=10).json()
        assert readiness["status"] == "degraded"
    finally:
        stack.resume("broker")
    ids = {r.json()["id"] for r in responses}

    # Read on for 20 s after the last one arrives: a copy sent again would show by then.
    records = read_topic(stack.broker, TOPIC, lambda r: ids <= subjects_seen(r), 120, settle=20)
    event_ids = defaultdict(list)
    for record in records:
        if record.key.decode() in ids:
            event_ids[record.key.decode()].append(json.loads(record.value)["id"])
    assert set(event_ids) == ids
    assert all(len(one) == 1 for one in event_ids.values()), "one event, once, per referral"


def test_ctrl_c_stops_everything_and_a_restart_keeps_the_referrals(stack, partner):
    created = post(stack, partner, referral(500)).json()["id"]
    stack.stop()
    assert stack.listening_ports() == []

    stack.start()
    response = requests.get(
        f"{stack.url('referral')}/v1/referrals/{created}", headers=partner, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["referral"]["family_member"]["name"] == "Jordan Example 500"
