"""Casework honours a withdrawn referral, against the real servers: the case is closed as
withdrawn, the coordinator sees who withdrew it and why, and a redelivered event changes
nothing twice."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from kafka.admin import NewTopic

from backbone import kafka
from backbone.clock import now
from backbone.consumer import ConsumerRunner
from backbone.errors import NotAllowed
from backbone.events.envelope import decode, encode, new_event
from services.casework.handlers import handlers
from services.referral import SOURCE as REFERRAL_SOURCE
from tests.casework_staff import staff_member
from tests.integration.test_casework_api import a_referral, deliver
from tests.integration.test_casework_pages import browser


def withdrawal(referral: dict, **changes) -> dict:
    """ReferralWithdrawn's data, as intake makes it."""
    return {
        "referral_id": referral["referral_id"],
        "partner_id": referral["partner_id"],
        "reason": "other",
        "details": "The family moved to Orkney.",
        "withdrawn_by": {"kind": "user", "name": "Morgan Testperson"},
        "at": now().isoformat(),
        **changes,
    }


@pytest.fixture
def site(casework_app, casework):
    """A case allocated to Casey, with ongoing one-to-one support."""
    manager = staff_member(casework.staff, "morgan", "Morgan Manager", "manager")
    casey = staff_member(casework.staff, "casey", "Casey Coordinator", "coordinator")
    referral = a_referral()
    deliver(casework.cases, "ReferralReceived", referral["referral_id"], referral)
    case = casework.cases.cases.find_one({"referral_id": referral["referral_id"]})
    casework.allocate(manager, case["_id"], casey["_id"])
    casework.set_support(casey, case["_id"], True)
    return {"app": casework_app, "case_id": case["_id"], "referral": referral, "casey": casey}


def test_a_withdrawn_referrals_case_is_closed_as_withdrawn(site, casework):
    referral = site["referral"]
    deliver(casework.cases, "ReferralWithdrawn", referral["referral_id"], withdrawal(referral))

    case = casework.cases.cases.find_one({"_id": site["case_id"]})
    assert case["status"] == "closed"
    assert case["outcomes"] == ["withdrawn"]
    assert case["outcome_for_referrer"] == "Withdrawn by the referrer: Another reason."
    assert case["support"]["ongoing"] is False  # ended first, as closing does
    assert case["withdrawal"]["details"] == "The family moved to Orkney."
    assert [t["kind"] for t in case["timeline"]][-3:] == [
        "ReferralWithdrawn",
        "SupportEnded",
        "CaseClosed",
    ]
    assert case["timeline"][-3]["by_name"] == referral["partner_name"]
    events = case["outbox"]
    assert [e["type"] for e in events][-2:] == ["SupportEnded", "CaseClosed"]
    closed = decode(encode(events[-1]))  # as intake, notifications and reporting read it
    assert closed.data["outcomes"] == ["withdrawn"]
    trail = casework.cases.audit_trail(site["case_id"])
    assert (trail[-3]["staff_name"], trail[-3]["action"]) == (
        referral["partner_name"],
        "ReferralWithdrawn",
    )


def test_the_coordinator_sees_who_withdrew_it_and_why_and_cannot_reopen_it(site, casework):
    referral = site["referral"]
    deliver(casework.cases, "ReferralWithdrawn", referral["referral_id"], withdrawal(referral))
    client = browser(site, "casey")

    page = client.get(f"https://casework.example/cases/{site['case_id']}").get_data(as_text=True)
    assert "Withdrawn by the referrer" in page
    assert "Morgan Testperson withdrew the referral on" in page
    assert "Another reason" in page and "The family moved to Orkney." in page
    assert "Referral withdrawn" in page  # the timeline entry's title
    assert "Reopen the case" not in page
    with pytest.raises(NotAllowed, match="withdrew"):
        casework.reopen(site["casey"], site["case_id"])


def test_a_declined_case_notes_the_withdrawal_and_is_not_closed_again(site, casework):
    referral = site["referral"]
    casework.decline(site["casey"], site["case_id"], "Outside our areas.")
    before = casework.cases.cases.find_one({"_id": site["case_id"]})
    deliver(casework.cases, "ReferralWithdrawn", referral["referral_id"], withdrawal(referral))

    case = casework.cases.cases.find_one({"_id": site["case_id"]})
    assert case["status"] == "declined"
    assert case["timeline"][-1]["kind"] == "ReferralWithdrawn"
    assert case["events"] == before["events"]  # nothing published


def test_the_same_withdrawal_applied_twice_changes_nothing_the_second_time(site, casework):
    referral = site["referral"]
    envelope = new_event(
        "ReferralWithdrawn", REFERRAL_SOURCE, referral["referral_id"], withdrawal(referral)
    )
    event = decode(encode(envelope))
    apply = handlers(casework.cases)["ReferralWithdrawn"]
    casework.cases.in_transaction(lambda session: apply(event, session))
    once = casework.cases.cases.find_one({"_id": site["case_id"]})
    casework.cases.in_transaction(lambda session: apply(event, session))
    assert casework.cases.cases.find_one({"_id": site["case_id"]}) == once


def test_a_referral_withdrawn_before_its_case_opened_is_closed_once_redelivered(settings, casework):
    """Both events on one topic, keyed by the referral, each delivered twice: the case is
    opened, then closed as withdrawn, once."""
    topic = f"test.referrals.{uuid.uuid4().hex[:8]}"
    admin = kafka.admin(settings)
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    admin.close()
    referral = a_referral()
    withdrawn = withdrawal(referral, reason="sent_by_mistake")
    del withdrawn["details"]
    envelopes = [
        new_event("ReferralReceived", REFERRAL_SOURCE, referral["referral_id"], referral),
        new_event("ReferralWithdrawn", REFERRAL_SOURCE, referral["referral_id"], withdrawn),
    ]
    producer = kafka.producer(settings)
    for envelope in envelopes * 2:
        producer.send(topic, key=envelope["subject"].encode(), value=encode(envelope)).get(10)
    producer.close()
    group = f"casework-{uuid.uuid4().hex[:6]}"
    runner = ConsumerRunner(group, [topic], handlers(casework.cases), casework.cases.db, settings)
    stop, deadline, seen = threading.Event(), time.monotonic() + 45, 0
    while seen < 4 and time.monotonic() < deadline:
        seen += runner.poll_once(stop)
    runner.close()

    assert seen == 4
    [case] = list(casework.cases.cases.find({"referral_id": referral["referral_id"]}))
    assert case["status"] == "closed" and case["outcomes"] == ["withdrawn"]
    assert [e["type"] for e in case["events"]] == ["CaseOpened", "CaseClosed"]
    assert [t["kind"] for t in case["timeline"]] == [
        "CaseOpened",
        "ReferralWithdrawn",
        "CaseClosed",
    ]
    assert case["timeline"][1]["summary"] == "Withdrawn by Morgan Testperson: Sent by mistake."
