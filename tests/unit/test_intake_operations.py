"""Intake's service layer over an in-memory repository: each rule in milliseconds. The
adapter (`Referrals` on MongoDB) has its own integration tests."""

from __future__ import annotations

from typing import Any

import pytest

from backbone.errors import Conflict, NotFound
from services.referral import domain
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

    def withdraw(self, referral_id: str, partner_id: str, withdrawal, event: dict) -> bool:
        found = self.stored.get(referral_id)
        if not found or found["partner_id"] != partner_id:
            return False
        if found["status"] != withdrawal.status_read:
            return False
        found["status"] = withdrawal.history_entry["status"]
        found["status_history"].append(withdrawal.history_entry)
        self.events.append(event)
        return True

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


MISTAKE = {"reason": "sent_by_mistake"}
BY_API = domain.withdrawn_by_api(GLASGOW)


def test_a_withdrawn_referral_is_stored_as_withdrawn_with_its_event(intake, referrals):
    record = receive(intake, GLASGOW, referral())
    answer = intake.withdraw(GLASGOW, record["_id"], MISTAKE, BY_API)
    assert answer["status"] == "withdrawn"
    last = answer["status_history"][-1]
    assert (last["status"], last["reason"], last["by"]) == (
        "withdrawn",
        "sent_by_mistake",
        {"kind": "api", "name": "Routes out of Prison Glasgow"},
    )
    event = referrals.events[-1]
    assert (event["type"], event["subject"]) == ("ReferralWithdrawn", record["_id"])
    assert event["data"]["reason"] == "sent_by_mistake" and "details" not in event["data"]


def test_another_partners_referral_cannot_be_withdrawn_as_if_unknown(intake, referrals):
    record = receive(intake, GLASGOW, referral())
    with pytest.raises(NotFound):
        intake.withdraw(LANARKSHIRE, record["_id"], MISTAKE, BY_API)
    assert referrals.stored[record["_id"]]["status"] == "received"
    assert [e["type"] for e in referrals.events] == ["ReferralReceived"]


def test_a_referral_is_withdrawn_once(intake, referrals):
    record = receive(intake, GLASGOW, referral())
    first = intake.withdraw(GLASGOW, record["_id"], MISTAKE, BY_API)
    # The same withdrawal again (a retry after a timeout) is answered as the first time.
    assert intake.withdraw(GLASGOW, record["_id"], MISTAKE, BY_API) == first
    with pytest.raises(domain.CannotWithdraw) as refused:
        intake.withdraw(GLASGOW, record["_id"], {"reason": "family_changed_mind"}, BY_API)
    assert refused.value.status == 409
    assert refused.value.detail == "This referral has already been withdrawn."
    assert [e["type"] for e in referrals.events] == ["ReferralReceived", "ReferralWithdrawn"]


class CaseEventBetween(FakeReferrals):
    """A case event changes the referral's status between the read and the write, as
    intake's worker may while the partner withdraws it."""

    def __init__(self, *statuses: str) -> None:
        super().__init__()
        self.statuses = list(statuses)

    def withdraw(self, referral_id: str, partner_id: str, withdrawal, event: dict) -> bool:
        if self.statuses:
            self.stored[referral_id]["status"] = self.statuses.pop(0)
        return super().withdraw(referral_id, partner_id, withdrawal, event)


def test_a_status_changed_while_withdrawing_is_decided_again():
    referrals = CaseEventBetween("accepted")
    intake = Intake(referrals)
    record = receive(intake, GLASGOW, referral())
    assert intake.withdraw(GLASGOW, record["_id"], MISTAKE, BY_API)["status"] == "withdrawn"
    assert referrals.events[-1]["type"] == "ReferralWithdrawn"


def test_a_case_closed_while_withdrawing_refuses_the_withdrawal():
    referrals = CaseEventBetween("closed")
    intake = Intake(referrals)
    record = receive(intake, GLASGOW, referral())
    with pytest.raises(domain.CannotWithdraw):
        intake.withdraw(GLASGOW, record["_id"], MISTAKE, BY_API)
    assert referrals.stored[record["_id"]]["status"] == "closed"
    assert [e["type"] for e in referrals.events] == ["ReferralReceived"]


def test_a_status_that_keeps_changing_is_a_conflict_to_retry():
    referrals = CaseEventBetween("accepted", "allocated", "accepted")
    intake = Intake(referrals)
    record = receive(intake, GLASGOW, referral())
    with pytest.raises(Conflict) as refused:
        intake.withdraw(GLASGOW, record["_id"], MISTAKE, BY_API)
    assert refused.value.status == 409
    assert [e["type"] for e in referrals.events] == ["ReferralReceived"]
