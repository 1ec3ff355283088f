"""Claiming a message to send, against the real database: the claim takes only the message
as it was read, since the attempt's outcome is written back as the attempts read plus
this one."""

from __future__ import annotations

from datetime import timedelta

from backbone import mongo
from backbone.clock import now
from services.notifications.repository import QUEUED, SENDING, Store


class ReadOutOfDate:
    """The messages collection, but every find_one answers `stale`: a read from before the
    last attempt's outcome was recorded."""

    def __init__(self, collection, stale: dict) -> None:
        self.collection, self.stale = collection, stale

    def find_one(self, *args, **kwargs) -> dict:
        return dict(self.stale)

    def __getattr__(self, name: str):
        return getattr(self.collection, name)


def test_a_claim_from_an_out_of_date_read_takes_nothing_and_loses_no_attempt(settings):
    store = Store(mongo.database(settings, "notifications"))
    store.ensure_indexes()
    at = now()
    tried = {"started_at": at - timedelta(minutes=1), "outcome": "failed", "status_code": 500}
    message = {
        "_id": "m-1",
        "status": QUEUED,
        "next_attempt_at": at - timedelta(seconds=1),
        "attempts": [tried],
        "lane": "endpoint:e-1|webhook|r-1",
    }
    store.messages.insert_one(message)
    collection = store.messages

    store.messages = ReadOutOfDate(collection, {**message, "attempts": []})
    assert store.claim(at, timedelta(seconds=30)) is None
    assert collection.find_one({"_id": "m-1"})["status"] == QUEUED

    store.messages = collection  # read as it is: claimed, with both attempts
    claimed = store.claim(at, timedelta(seconds=30))
    assert claimed["status"] == SENDING and len(claimed["attempts"]) == 2
    assert collection.find_one({"_id": "m-1"})["attempts"] == claimed["attempts"]
