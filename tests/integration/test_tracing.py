"""Following one referral on the real servers: the partner's traceparent reaches the
referral's event, the relay's log line, casework's consumer and the event it makes."""

from __future__ import annotations

import json
import threading
import uuid

from kafka.admin import NewTopic

from backbone import kafka, mongo
from backbone.consumer import ConsumerRunner
from services.casework.handlers import handlers
from services.casework.repository import Cases
from tests.background import wait_for
from tests.factories import referral

PARTNER_TRACE = "0af7651916cd43dd8448eb211c80319c"
PARTNER_SPAN = "b7ad6b7169203331"
PARTNER_PARENT = f"00-{PARTNER_TRACE}-{PARTNER_SPAN}-01"


def log_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue  # pytest's own output
    return lines


def posted_event(client, auth, referral_db, headers: dict | None = None) -> dict:
    response = client.post("/v1/referrals", json=referral(), headers=auth | (headers or {}))
    assert response.status_code == 201
    [event] = referral_db.referrals.find_one({"_id": response.get_json()["id"]})["outbox"]
    return event


def test_a_referral_and_its_case_carry_the_partners_trace_id_from_service_to_service(
    client, auth, referral_db, publish, published_about, settings, capsys
):
    capsys.readouterr()
    event = posted_event(client, auth, referral_db, {"traceparent": PARTNER_PARENT})
    _, trace_id, span_id, _ = event["traceparent"].split("-")
    assert trace_id == PARTNER_TRACE
    assert span_id != PARTNER_SPAN  # the request's own span is the event's parent
    answered = [line for line in log_lines(capsys.readouterr().err) if line["trace_id"]]
    assert [line["message"] for line in answered] == ["request answered"]
    assert answered[0]["trace_id"] == PARTNER_TRACE

    publish("referral")
    published = [line for line in log_lines(capsys.readouterr().err) if line["event_id"]]
    assert {
        (line["message"], line["type"], line["trace_id"])
        for line in published
        if line["event_id"] == event["id"]
    } == {("event published", "ReferralReceived", PARTNER_TRACE)}

    # Casework's consumer, on a topic of this test's own with the record as published.
    [record], _ = published_about("referral", event["subject"], 1)
    topic = f"test.trace.{uuid.uuid4().hex[:8]}"
    admin = kafka.admin(settings)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    producer = kafka.producer(settings)
    producer.send(topic, key=record.key, value=record.value).get(10)
    producer.close()
    db = mongo.database(settings, "casework")
    cases = Cases(db)
    runner = ConsumerRunner(f"trace-{uuid.uuid4().hex[:6]}", [topic], handlers(cases), db, settings)
    stop = threading.Event()
    try:
        assert wait_for(lambda: runner.poll_once(stop) or cases.cases.count_documents({}), 45)
    finally:
        runner.close()

    [opened] = cases.cases.find_one({"referral_id": event["subject"]})["outbox"]
    _, opened_trace, opened_parent, _ = opened["traceparent"].split("-")
    assert opened_trace == PARTNER_TRACE
    assert opened_parent not in (PARTNER_SPAN, span_id)  # the consumer's span is its parent
    processed = [
        line
        for line in log_lines(capsys.readouterr().err)
        if line["message"] == "event processed" and line["event_id"] == event["id"]
    ]
    assert [(line["type"], line["trace_id"]) for line in processed] == [
        ("ReferralReceived", PARTNER_TRACE)
    ]


def test_a_malformed_traceparent_is_ignored_and_a_new_trace_started(client, auth, referral_db):
    for malformed in ("00-not-a-trace-01", f"00-{'0' * 32}-{PARTNER_SPAN}-01", "x" * 5000):
        event = posted_event(client, auth, referral_db, {"traceparent": malformed})
        _, trace_id, _, _ = event["traceparent"].split("-")
        assert trace_id not in (PARTNER_TRACE, "0" * 32)


def test_without_a_traceparent_each_referral_starts_a_trace(client, auth, referral_db):
    first = posted_event(client, auth, referral_db)["traceparent"].split("-")[1]
    second = posted_event(client, auth, referral_db)["traceparent"].split("-")[1]
    assert first != second
