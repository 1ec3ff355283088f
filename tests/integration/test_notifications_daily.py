"""The daily run against the real database and mail server: managers get the summary of
referrals waiting too long for a first contact, a manager who chose a digest gets the
day's held messages in one email (and each held message is in exactly one digest), and
a second run the same day, from any process, makes nothing."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from backbone import mongo
from backbone.clock import now, today
from services.notifications.daily import Daily
from services.notifications.delivery import Sender
from services.notifications.handlers import MessageMaker
from services.notifications.repository import DIGESTED, Store
from services.notifications.rules import Links, new_referral_messages
from services.notifications.templates import check_all
from tests.mail_catcher import recipients

LINKS = Links("https://intake.example.org", "https://casework.example.org", "https://n.example")
EACH = {"_id": "s-each", "name": "Morgan Manager", "email": "morgan@example.org"}
DIGEST = {"_id": "s-digest", "name": "Dana Manager", "email": "dana@example.org"}
COORDINATOR = {"_id": "s-c", "name": "Casey Coordinator", "email": "casey@example.org"}


@pytest.fixture
def world(settings, mail):
    settings = dataclasses.replace(settings, smtp_port=mail.smtp_port)
    store = Store(mongo.database(settings, "notifications"))
    store.ensure_indexes()
    for person, roles in (
        (EACH, ["manager"]),
        (DIGEST, ["manager"]),
        (COORDINATOR, ["coordinator"]),
    ):
        data = {"staff_id": person["_id"], **{k: person[k] for k in ("name", "email")}}
        store.keep_staff({**data, "roles": roles, "active": True}, None)
    store.set_preferences(DIGEST["_id"], {"new_referral": "digest"})
    maker = MessageMaker(store, check_all(), timedelta(days=3))
    return store, maker, Daily(store, maker, settings, LINKS), Sender(store, maker, settings)


def received(store: Store, referral_id: str, days_ago: int, contacted: bool = False) -> dict:
    at = now() - timedelta(days=days_ago)
    fields = {
        "received_at": at,
        "status": "accepted",
        "first_contact_at": at if contacted else None,
    }
    return store.keep_referral(referral_id, fields, None)


def send_everything(sender: Sender) -> None:
    while sender.send_one():
        pass


def test_the_summary_and_a_digest_go_out_once_a_day(world, mail):
    store, maker, daily, sender = world
    received(store, "r-waiting", days_ago=14)
    received(store, "r-contacted", days_ago=14, contacted=True)
    fresh = received(store, "r-fresh", days_ago=0)
    staff = store.all_staff()
    maker.record("ev-new", new_referral_messages(fresh, "c-fresh", "Glasgow", staff, LINKS))
    send_everything(sender)  # the manager who takes each one gets it now; the digest waits
    assert [recipients(e) for e in mail.wait_for(1)] == [[EACH["email"]]]

    assert daily.run_for(today())
    assert not daily.run_for(today())  # once a day, whichever process asks
    send_everything(sender)
    caught = mail.wait_for(4)
    by_recipient = {}
    for email in caught[1:]:
        by_recipient.setdefault(recipients(email)[0], []).append(email)
    assert sorted(by_recipient) == [DIGEST["email"], EACH["email"]]  # not the coordinator
    for address in (EACH["email"], DIGEST["email"]):
        summary = [e for e in by_recipient[address] if "waiting" in e["subject"].lower()]
        assert len(summary) == 1 and "r-waiting" in summary[0]["text"]
        assert "r-contacted" not in summary[0]["text"] and "r-fresh" not in summary[0]["text"]
    (digest,) = [e for e in by_recipient[DIGEST["email"]] if "digest" in e["subject"].lower()]
    assert "New referral r-fresh is waiting" in digest["text"]
    assert "https://n.example/preferences" in digest["text"]
    held = store.messages.find_one({"recipient": f"staff:{DIGEST['_id']}", "kind": "new_referral"})
    assert held["status"] == DIGESTED

    # Nothing is left to send, and nothing more is made.
    assert not sender.send_one()
    assert len(mail.emails()) == 4


def test_a_day_with_nothing_waiting_and_nothing_held_sends_nothing(world, mail):
    store, _, daily, sender = world
    received(store, "r-fresh", days_ago=0)
    assert daily.run_for(today())
    send_everything(sender)
    assert mail.emails() == []
