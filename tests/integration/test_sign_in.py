"""Signing in (backbone.accounts, backbone.sign_in) against the real database: the
lockout holds under a burst of concurrent attempts, and sessions and attempts expire: at
once for the queries, and by TTL index in the database (which deletes them within a
minute or so, as mongod's TTL monitor does: too slow to watch here, so the indexes are
checked)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from backbone import accounts as accounts_module
from backbone import mongo
from backbone.accounts import MAX_FAILURES, Accounts, LockedOut

PASSWORD = "correct horse battery"


# ---- a burst of attempts for one username ---------------------------------------------


class CountingHasher:
    """Instrumentation, not a stand-in: the real Argon2 hasher, counting the passwords it
    checks, and telling when MAX_FAILURES checks have begun."""

    def __init__(self, real) -> None:
        self.real = real
        self.checked = 0
        self.enough_begun = threading.Event()
        self._lock = threading.Lock()

    def verify(self, hashed: str, password: str) -> bool:
        with self._lock:
            self.checked += 1
            if self.checked >= MAX_FAILURES:
                self.enough_begun.set()
        return self.real.verify(hashed, password)


def burst(
    sign_in: Callable[[str, str], object],
    spy: CountingHasher,
    username: str,
    password: str,
    locked_out: type[Exception],
    size: int = 60,
) -> tuple[int, str]:
    """`size` concurrent attempts for `username`: all but one with wrong passwords, let
    go together; the right one once MAX_FAILURES wrong ones are being checked (or all
    have been answered). Returns how many passwords were checked and what became of the
    right one: 'accepted', 'wrong' or 'locked'."""

    def attempt(guess: str, start: threading.Barrier | None = None) -> str:
        if start:
            start.wait()
        try:
            return "accepted" if sign_in(username, guess) else "wrong"
        except locked_out:
            return "locked"

    start = threading.Barrier(size - 1)
    with ThreadPoolExecutor(max_workers=size) as pool:
        wrong = [pool.submit(attempt, f"guess {n}", start) for n in range(size - 1)]
        while not spy.enough_begun.wait(0.005) and not all(w.done() for w in wrong):
            pass
        right = attempt(password)
        assert {w.result() for w in wrong} <= {"wrong", "locked"}
    return spy.checked, right


@pytest.fixture
def accounts(settings) -> Accounts:
    """Accounts of a service that is not casework: the backbone's, as any service has."""
    people = Accounts(mongo.database(settings, "people"), "people", "ftp_")
    people.ensure_indexes()
    return people


@pytest.mark.parametrize("username", ["casey", "nobody"])  # an unknown username the same
def test_a_burst_of_sixty_attempts_checks_at_most_five_passwords(accounts, username, monkeypatch):
    accounts.create_with_password("casey", "Casey Coordinator", PASSWORD)
    spy = CountingHasher(accounts_module._HASHER)
    monkeypatch.setattr(accounts_module, "_HASHER", spy)
    checked, right = burst(accounts.sign_in, spy, username, PASSWORD, LockedOut)
    assert checked <= MAX_FAILURES
    assert right == "locked"  # the right password too, once five were being tried
    with pytest.raises(LockedOut):
        accounts.sign_in(username, PASSWORD)
    assert spy.checked == checked  # refused without being checked


def test_a_right_password_clears_the_count_of_wrong_ones(accounts):
    accounts.create_with_password("casey", "Casey Coordinator", PASSWORD)
    for _ in range(MAX_FAILURES - 1):
        assert accounts.sign_in("casey", "guess") is None
    assert accounts.sign_in("casey", PASSWORD)["username"] == "casey"
    for _ in range(MAX_FAILURES - 1):
        assert accounts.sign_in("casey", "guess") is None
    assert accounts.sign_in("casey", PASSWORD)["username"] == "casey"


# ---- expiry ----------------------------------------------------------------------------


def test_expired_sessions_and_attempts_count_for_nothing_before_they_are_deleted(
    accounts, monkeypatch
):
    account, _ = accounts.create_with_password("casey", "Casey Coordinator", PASSWORD)
    token = accounts.start_session(account["_id"], timedelta(seconds=1))
    assert accounts.signed_in(token)["username"] == "casey"
    lockout = timedelta(seconds=5)  # room for five Argon2 checks
    monkeypatch.setattr(accounts_module, "LOCKOUT", lockout)
    for _ in range(MAX_FAILURES):
        assert accounts.sign_in("casey", "guess") is None
    with pytest.raises(LockedOut):
        accounts.sign_in("casey", PASSWORD)
    time.sleep(lockout.total_seconds())
    assert accounts.signed_in(token) is None
    assert accounts.sign_in("casey", PASSWORD)["username"] == "casey"


@pytest.mark.parametrize(
    ("collection", "field"),
    [("sessions", "expires_at"), ("sign_in_attempts", "expires_at")],
)
def test_what_expires_has_a_ttl_index(casework, collection, field):
    indexes = casework.staff.collection.database[collection].index_information().values()
    ttl = [(i["key"], i["expireAfterSeconds"]) for i in indexes if "expireAfterSeconds" in i]
    assert ttl == [([(field, 1)], 0)]
