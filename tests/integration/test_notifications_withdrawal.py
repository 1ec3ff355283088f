"""The coordinator of a case is told, by email through the real mail server, when its
referral is withdrawn and the case closed; nobody else on the staff is, and a case
closed for other reasons tells its coordinator nothing new."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from backbone import mongo
from backbone.clock import now
from backbone.events.catalogue import event_type
from backbone.events.envelope import decode, encode, new_event
from services.notifications.delivery import Sender
from services.notifications.handlers import MessageMaker, handlers
from services.notifications.repository import Store
from services.notifications.rules import Links
from services.notifications.templates import check_all
from tests.factories import referral_received_data
from tests.mail_catcher import recipients

LINKS = Links("https://intake.example.org", "https://casework.example.org", "https://n.example")
CASEY = {"staff_id": "s-casey", "name": "Casey Coordinator", "email": "casey@example.org"}
ROBIN = {"staff_id": "s-robin", "name": "Robin Coordinator", "email": "robin@example.org"}


@pytest.fixture
def world(settings, mail):
    settings = dataclasses.replace(settings, smtp_port=mail.smtp_port)
    db = mongo.database(settings, "notifications")
    store = Store(db)
    store.ensure_indexes()
    for person in (CASEY, ROBIN):
        store.keep_staff({**person, "roles": ["coordinator"], "active": True}, None)
    maker = MessageMaker(store, check_all(), timedelta(days=3))
    return db, store, handlers(store, maker, LINKS), Sender(store, maker, settings)


def deliver(world, kind: str, data: dict) -> None:
    db, _, handle, _ = world
    envelope = new_event(kind, event_type(kind).source, data.get("case_id", "r"), data)
    event = decode(encode(envelope))
    mongo.in_transaction(db, lambda session: handle[kind](event, session))


def allocated_case(world, referral_id: str) -> dict:
    # The referrer gave no email address: only staff are emailed here.
    deliver(world, "ReferralReceived", {**referral_received_data(), "referral_id": referral_id})
    base = {"case_id": f"c-{referral_id}", "referral_id": referral_id, "by": "system"}
    deliver(
        world,
        "CaseAllocated",
        {**base, "at": now().isoformat(), "coordinator_id": CASEY["staff_id"], "reassigned": False},
    )
    return base


def close(world, base: dict, outcomes: list[str]) -> None:
    deliver(
        world,
        "CaseClosed",
        {**base, "at": now().isoformat(), "outcomes": outcomes, "outcome_for_referrer": "Done."},
    )


def test_the_coordinator_hears_that_their_cases_referral_was_withdrawn(world, mail):
    _, store, _, sender = world
    withdrawn = allocated_case(world, "r-withdrawn")
    worked = allocated_case(world, "r-worked")
    close(world, withdrawn, ["withdrawn"])
    close(world, worked, ["needs_met"])
    while sender.send_one():
        pass

    told = store.messages.find({"kind": "case_withdrawn"})
    assert [(m["recipient"], m["referral_id"]) for m in told] == [
        (f"staff:{CASEY['staff_id']}", "r-withdrawn")
    ]
    caught = mail.wait_for(3)  # the two allocations, then the withdrawal
    [email] = [e for e in caught if "the referral was withdrawn" in e["subject"]]
    assert recipients(email) == [CASEY["email"]]
    assert email["subject"] == "Case r-withdrawn closed: the referral was withdrawn"
    assert "https://casework.example.org/cases/c-r-withdrawn" in email["text"]
    assert "Jordan" not in email["text"]  # no family's details in an email
