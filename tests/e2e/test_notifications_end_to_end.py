"""Notifications on the stack as `make run` starts it: a partner posts a referral, a
manager allocates it, the coordinator closes it; the local mail server (read through its
HTTP API) and a partner's webhook receiver (a real HTTP server on 127.0.0.1) get exactly
the expected messages, each webhook verified with the standardwebhooks library, in order.
Then the faults: redelivery and a killed worker, failing receivers, a stopped mail
server."""

from __future__ import annotations

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
