"""Notifications on the stack as `make run` starts it: a partner posts a referral, a
manager allocates it, the coordinator closes it; the local mail server (read through its
HTTP API) and a partner's webhook receiver (a real HTTP server on 127.0.0.1) get exactly
the expected messages, each webhook verified with the standardwebhooks library, in order.
Then the faults: redelivery and a killed worker, failing receivers, a stopped mail
server."""

from __future__ import annotations

import itertools
import json
import time

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from tests import webhook_receiver
from tests.background import wait_for
from tests.e2e.stack import Stack
from tests.factories import referral
from tests.mail_catcher import recipients, subject, text

pytestmark = pytest.mark.e2e

ALL_TYPES = [
    "referral.received",
    "referral.accepted",
    "referral.allocated",
    "referral.declined",
    "referral.closed",
]
REFERRER = "life.coach@example.org"
OUTCOME = "The family had six months of support and is doing well."


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # Retries come quickly, and a failing endpoint is given up on within 20 s, so the
    # tests can watch what would take days.
    fast = {"NOTIFICATION_FIRST_RETRY_SECONDS": "0.5", "NOTIFICATION_RETRY_SECONDS": "20"}
    stack = Stack(tmp_path_factory.mktemp("var"), tmp_path_factory.mktemp("logs") / "stack.log")
    stack.env |= fast
    stack.start()
    yield stack
    if stack.process and stack.process.poll() is None:
        stack.stop()


@pytest.fixture(scope="module")
def receiver():
    receiver = webhook_receiver.start()
    yield receiver
    receiver.server.shutdown()


class Partner:
    def __init__(self, stack: Stack, name: str) -> None:
        self.stack = stack
        self.headers = {"Authorization": f"Bearer {stack.new_partner_key(name)}"}
        self.api = stack.url("notifications")
        # notifications learns of the partner from intake's PartnerChanged
        assert wait_for(lambda: self.get("/v1/webhooks/endpoints").status_code == 200, 60)

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.api}{path}", headers=self.headers, timeout=10)

    def post(self, path: str, body: dict | None = None) -> requests.Response:
        return requests.post(f"{self.api}{path}", json=body, headers=self.headers, timeout=10)

    def endpoint(self, url: str, types: list[str] = ALL_TYPES) -> dict:
        made = self.post("/v1/webhooks/endpoints", {"url": url, "event_types": types})
        assert made.status_code == 201, made.text
        return made.json()

    def refer(self, n: int, **changes) -> str:
        body = referral(n, referrer__email=REFERRER, **changes)
        posted = requests.post(
            f"{self.stack.url('referral')}/v1/referrals",
            json=body,
            headers=self.headers,
            timeout=10,
        )
        assert posted.status_code == 201, posted.text
        return posted.json()["id"]


def the_case(stack: Stack, manager: dict, referral_id: str) -> dict:
    def found():
        cases = requests.get(f"{stack.url('casework')}/v1/cases", headers=manager, timeout=5)
        return next((c for c in cases.json() if c["referral_id"] == referral_id), None)

    assert wait_for(lambda: found() is not None, timeout=60)
    return found()


def verified(call, secret: str) -> dict:
    return Webhook(secret).verify(call.body, call.headers)


def test_a_referrals_life_reaches_the_referrer_the_manager_the_coordinator_and_the_partner(
    stack, receiver
):
    stack.mail.clear()
    partner = Partner(stack, "Routes out of Prison")
    endpoint = partner.endpoint(f"{receiver.base}/flow")
    _, manager = stack.new_staff("morgan", "manager", email="morgan.manager@example.org")
    casey_id, casey = stack.new_staff("casey", "coordinator", email="casey.coord@example.org")
    time.sleep(3)  # notifications learns of the staff from casework's StaffChanged

    referral_id = partner.refer(11)
    case = the_case(stack, manager, referral_id)
    casework = stack.url("casework")
    allocated = requests.post(
        f"{casework}/v1/cases/{case['id']}/allocation",
        json={"coordinator_id": casey_id},
        headers=manager,
        timeout=10,
    )
    assert allocated.status_code == 200
    closed = requests.post(
        f"{casework}/v1/cases/{case['id']}/close",
        json={"outcomes": ["needs_met"], "outcome_for_referrer": OUTCOME},
        headers=casey,
        timeout=10,
    )
    assert closed.status_code == 200

    emails = stack.mail.wait_for(6, timeout=90)
    time.sleep(3)  # nothing more arrives
    emails = stack.mail.emails()
    got = sorted((recipients(e)[0], subject(e)) for e in emails)
    assert got == sorted(
        [
            (REFERRER, f"Referral {referral_id} received"),
            (REFERRER, f"Referral {referral_id} accepted"),
            (REFERRER, f"Referral {referral_id} given to a coordinator"),
            (REFERRER, f"Referral {referral_id} closed"),
            ("morgan.manager@example.org", f"New referral {referral_id} is waiting"),
            ("casey.coord@example.org", f"Case {referral_id} to you"),
        ]
    )
    closing = next(e for e in emails if subject(e).endswith("closed"))
    assert OUTCOME in text(closing) and "<html" in (closing.get("html") or "")

    assert wait_for(lambda: len(receiver.calls_to("/flow")) >= 4, timeout=60)
    calls = receiver.calls_to("/flow")
    payloads = [verified(call, endpoint["secret"]) for call in calls]
    assert [p["type"] for p in payloads] == [
        "referral.received",
        "referral.accepted",
        "referral.allocated",
        "referral.closed",
    ]
    assert {p["data"]["referral_id"] for p in payloads} == {referral_id}
    assert payloads[-1]["data"]["outcome"] == OUTCOME
    assert len({call.headers["webhook-id"] for call in calls}) == 4

    deliveries = partner.get(f"/v1/webhooks/endpoints/{endpoint['id']}/deliveries").json()
    assert {d["status"] for d in deliveries["items"]} == {"delivered"}
    assert all(d["attempts"][-1]["status_code"] == 200 for d in deliveries["items"])


def test_no_email_carries_a_familys_name_or_phone_and_a_do_not_contact_family_gets_nothing(
    stack,
):
    stack.mail.clear()
    partner = Partner(stack, "Family contact officers")
    quiet = {
        "family_member__preferred_contact_method": "do_not_contact",
        "family_member__contact": {"phone": "0141 496 0777", "email": "family@example.org"},
    }
    referral_id = partner.refer(12, **quiet)
    assert wait_for(lambda: len(stack.mail.emails()) >= 1, timeout=60)
    time.sleep(5)
    everything = json.dumps(stack.mail.emails())
    assert referral_id in everything
    for personal in ("Jordan Example", "0141 496", "G2 1AA", "family@example.org", "Call after"):
        assert personal not in everything
    addressed = {a for e in stack.mail.emails() for a in recipients(e)}
    assert "family@example.org" not in addressed


def test_redelivered_events_and_a_killed_worker_send_each_message_once(stack, receiver):
    stack.mail.clear()
    partner = Partner(stack, "Prison visitor centre")
    endpoint = partner.endpoint(f"{receiver.base}/burst", ["referral.received"])
    referral_ids = []
    for n in range(20):
        referral_ids.append(partner.refer(100 + n))
        if n == 8:  # mid-burst: the worker dies, and supervisord starts it again
            old = stack.kill("notifications-worker")
            assert wait_for(lambda old=old: stack.restarted("notifications-worker", old), 60)
    stack.familyties("events", "republish", "referral")  # every event delivered again
    stack.familyties("events", "republish", "casework")

    # each referral: the referrer's "received" and "accepted" emails, the manager's "new
    # referral" (from the first test), one webhook
    assert wait_for(lambda: len(receiver.calls_to("/burst")) >= 20, timeout=120)
    stack.mail.wait_for(60, timeout=120)
    time.sleep(15)  # the republished copies arrive: they must send nothing
    ids = [call.headers["webhook-id"] for call in receiver.calls_to("/burst")]
    per_message = {i: ids.count(i) for i in ids}
    subjects = [(recipients(e)[0], subject(e)) for e in stack.mail.emails()]
    per_email = {s: subjects.count(s) for s in subjects}
    assert len(per_message) == 20 and len(per_email) == 60
    # A message being sent at the instant of the kill may go twice (README, "What can
    # still happen"): the database says which; nothing else may repeat.
    repeated = {i for i, count in per_message.items() if count > 1}
    repeated |= {s for s, count in per_email.items() if count > 1}
    assert len(repeated) <= 2 * 4, repeated  # at most one per sending thread and channel
    interrupted = interrupted_messages(stack)
    assert len(repeated) <= len(interrupted)
    for call in receiver.calls_to("/burst"):
        verified(call, endpoint["secret"])


def interrupted_messages(stack: Stack) -> list[dict]:
    from pymongo import MongoClient

    db = MongoClient(stack.env["MONGODB_URI"])["familyties_notifications"]
    return list(db.messages.find({"attempts.outcome": "interrupted"}))


def test_a_failing_receiver_is_retried_with_growing_delays_until_it_answers(stack, receiver):
    partner = Partner(stack, "Community justice social work")
    endpoint = partner.endpoint(f"{receiver.base}/flaky", ["referral.received"])
    receiver.script["/flaky"] = [500, 500, 500]
    partner.refer(200)
    assert wait_for(lambda: len(receiver.calls_to("/flaky")) == 4, timeout=60)

    def delivery():
        found = partner.get(f"/v1/webhooks/endpoints/{endpoint['id']}/deliveries").json()
        return found["items"][0] if found["items"] else {}

    assert wait_for(lambda: delivery().get("status") == "delivered", timeout=30)
    attempts = delivery()["attempts"]
    assert [a["status_code"] for a in attempts] == [500, 500, 500, 200]
    calls = receiver.calls_to("/flaky")
    assert len({c.headers["webhook-id"] for c in calls}) == 1  # one message, four attempts
    starts = [_moment(a["started_at"]) for a in attempts]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
    assert gaps[0] < gaps[1] < gaps[2], gaps


def _moment(text_: str):
    from datetime import datetime

    return datetime.fromisoformat(text_)


@pytest.mark.parametrize(("path", "answers"), [("/gone", [410]), ("/down", [503] * 1000)])
def test_an_endpoint_that_is_gone_or_keeps_failing_is_disabled_and_its_partner_emailed(
    stack, receiver, path, answers
):
    stack.mail.clear()
    partner = Partner(stack, f"Partner {path}")
    contact = f"webhooks{path.replace('/', '-')}@example.org"
    assert partner.get("/v1/partner/contact").status_code == 200
    requests.put(
        f"{partner.api}/v1/partner/contact",
        json={"email": contact},
        headers=partner.headers,
        timeout=10,
    )
    endpoint = partner.endpoint(f"{receiver.base}{path}", ["referral.received"])
    receiver.script[path] = list(answers)
    partner.refer(300 + len(path) + len(answers) % 7)

    def status() -> str:
        return partner.get(f"/v1/webhooks/endpoints/{endpoint['id']}").json()["status"]

    assert wait_for(lambda: status() == "disabled", timeout=90)
    assert wait_for(lambda: any(contact in recipients(e) for e in stack.mail.emails()), timeout=30)
    told = [e for e in stack.mail.emails() if contact in recipients(e)]
    assert len(told) == 1 and endpoint["url"] in text(told[0])
