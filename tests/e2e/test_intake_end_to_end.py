"""Partners post referrals over HTTP; ReferralReceived reaches Kafka. Faults lose nothing."""

from __future__ import annotations

import json
import smtplib
from collections import defaultdict
from email.message import EmailMessage

import pytest
import requests

from backbone.events.catalogue import topic_of
from backbone.events.envelope import decode
from tests.background import wait_for
from tests.e2e.stack import Stack
from tests.factories import referral
from tests.kafka_reader import read_topic, subjects_seen
from tests.mail_catcher import subject

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
    metrics = requests.get(stack.worker_metrics_url("referral"), timeout=5).text
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

    # counted by the worker once it has marked the events published, on its own /metrics
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


def send_mail(stack: Stack, title: str) -> None:
    email = EmailMessage()
    email["From"], email["To"], email["Subject"] = "a@example.org", "b@example.org", title
    email.set_content("Hello.")
    with smtplib.SMTP(stack.mail.host, stack.mail.smtp_port, timeout=10) as smtp:
        smtp.send_message(email)


def subjects(stack: Stack) -> list[str]:
    return [subject(email) for email in stack.mail.emails()]


def test_the_mail_server_runs_with_the_stack_and_its_page_is_printed(stack):
    assert "RUNNING" in stack.control("status", "servers:mail")
    printed = stack.log_path.read_text()
    assert (
        f"http://127.0.0.1:{stack.mail.web_port}  (every email the system sends, caught here; "
        f"SMTP 127.0.0.1:{stack.mail.smtp_port})"
    ) in printed
    page = requests.get(stack.mail.url, headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and "<title>MailDev" in page.text

    send_mail(stack, "Caught by make run's mail server")
    assert wait_for(lambda: "Caught by make run's mail server" in subjects(stack), timeout=10)
    log = stack.log_path.read_text()
    assert "b@example.org" not in log and "Caught by make run's mail server" not in log


def test_ctrl_c_stops_everything_and_a_restart_keeps_the_referrals(stack, partner):
    created = post(stack, partner, referral(500)).json()["id"]
    send_mail(stack, "Caught for this run only")
    assert wait_for(lambda: "Caught for this run only" in subjects(stack), timeout=10)
    stack.stop()
    assert stack.listening_ports() == []

    stack.start()
    assert "Caught for this run only" not in subjects(stack)  # no copy outlives the run
    response = requests.get(
        f"{stack.url('referral')}/v1/referrals/{created}", headers=partner, timeout=10
    )
    assert response.status_code == 200
    assert response.json()["referral"]["family_member"]["name"] == "Jordan Example 500"
