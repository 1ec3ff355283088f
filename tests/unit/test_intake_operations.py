"""Intake's service layer over an in-memory repository: each rule in milliseconds. The
adapter (`Referrals` on MongoDB) has its own integration tests."""

from __future__ import annotations

from typing import Any

import pytest

from backbone.errors import NotFound
from services.referral.operations import REFERRAL, IdempotencyKeyReused, Intake
from services.referral.repository import IdempotencyKeyTaken
from tests.factories import referral

GLASGOW = {"_id": "p1", "name": "Routes out of Prison Glasgow"}
LANARKSHIRE = {"_id": "p2", "name": "Lanarkshire Life Coaches"}


class FakeReferrals:
    """`Referrals` over a dict: the same methods, no database."""

    def __init__(self) -> None:
        self.stored: dict[str, dict[str, Any]] = {}
        self.events: list[dict] = []

    def add(self, record: dict[str, Any], *events: dict) -> None:
        key = record.get("idempotency_key")
        for existing in self.stored.values():
            same_partner = existing["partner_id"] == record["partner_id"]
            if key is not None and same_partner and existing.get("idempotency_key") == key:
                raise IdempotencyKeyTaken(existing)
        self.stored[record["_id"]] = record
        self.events.extend(events)

    def sharing_match_keys(self, keys: list[str]) -> list[dict[str, Any]]:
        return [r for r in self.stored.values() if set(r["match_keys"]) & set(keys)]

    def for_partner(self, partner_id: str, referral_id: str) -> dict[str, Any] | None:
        found = self.stored.get(referral_id)
        return found if found and found["partner_id"] == partner_id else None

    def page_for_partner(
        self, partner_id: str, filters: dict, page: int, per_page: int
    ) -> tuple[list[dict[str, Any]], int]:
        mine = [r for r in self.stored.values() if r["partner_id"] == partner_id]
        mine.sort(key=lambda r: r["received_at"], reverse=True)
        return mine[(page - 1) * per_page : page * per_page], len(mine)


@pytest.fixture
def referrals() -> FakeReferrals:
    return FakeReferrals()


@pytest.fixture
def intake(referrals) -> Intake:
    return Intake(referrals)


def receive(intake: Intake, partner: dict, sent: dict, key: str | None = None) -> dict:
    return intake.receive(partner, REFERRAL.load(sent), sent, key)


def test_a_referral_is_stored_with_its_referral_received_event(intake, referrals):
    record = receive(intake, GLASGOW, referral())
    assert referrals.stored[record["_id"]]["status"] == "received"
    [event] = referrals.events
    assert (event["type"], event["subject"]) == ("ReferralReceived", record["_id"])
    assert event["data"]["partner_id"] == "p1"


def test_a_retry_with_the_same_key_stores_nothing_and_answers_as_the_first_time(intake, referrals):
    first = receive(intake, GLASGOW, referral(), key="k1")
    referrals.stored[first["_id"]]["status"] = "accepted"  # casework opened a case since
    again = receive(intake, GLASGOW, referral(), key="k1")
    assert again["_id"] == first["_id"] and again["status"] == "received"
    assert len(referrals.stored) == 1 and len(referrals.events) == 1


def test_the_same_key_with_another_referral_is_refused_and_stores_nothing(intake, referrals):
    receive(intake, GLASGOW, referral(), key="k1")
    with pytest.raises(IdempotencyKeyReused) as refused:
        receive(intake, GLASGOW, referral(1), key="k1")
    assert refused.value.status == 422
    assert len(referrals.stored) == 1 and len(referrals.events) == 1


def test_keys_are_each_partners_own(intake, referrals):
    receive(intake, GLASGOW, referral(), key="k1")
    receive(intake, LANARKSHIRE, referral(1), key="k1")
    assert len(referrals.stored) == 2


def test_a_second_referral_of_the_same_person_is_flagged_to_the_same_partner(intake):
    first = receive(intake, GLASGOW, referral())
    second = receive(intake, GLASGOW, referral())
    assert second["possible_duplicate_of_own"] == [first["_id"]]


def test_another_partners_referral_is_not_found(intake):
    record = receive(intake, GLASGOW, referral())
    assert intake.referral(GLASGOW, record["_id"])["_id"] == record["_id"]
    with pytest.raises(NotFound):
        intake.referral(LANARKSHIRE, record["_id"])


def test_a_page_counts_only_this_partners_referrals(intake):
    for n in range(3):
        receive(intake, GLASGOW, referral(n))
    receive(intake, LANARKSHIRE, referral(9))
    page = intake.page(GLASGOW, {}, page=2, per_page=2)
    assert (page["total_items"], page["total_pages"], len(page["items"])) == (3, 2, 1)
