"""Signing in (backbone.accounts, backbone.sign_in) against the real database: the
lockout holds under a burst of concurrent attempts, one client address may try only so
many sign-ins a minute (across processes), and sessions and attempts expire: at once for
the queries, and by TTL index in the database (which deletes them within a minute or
so, as mongod's TTL monitor does: too slow to watch here, so the indexes are checked)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from backbone import accounts as accounts_module
from backbone import mongo
from backbone.accounts import MAX_FAILURES, Accounts, LockedOut
from backbone.sign_in import LOCKED_OUT, TOO_MANY_FROM_ADDRESS
from services.casework.app import create_app
from tests.casework_staff import staff_member
from tests.integration.conftest import error_summary

BASE = "https://casework.example"
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
    accounts.create_account("casey", "Casey Coordinator", "coordinator", PASSWORD)
    spy = CountingHasher(accounts_module._HASHER)
    monkeypatch.setattr(accounts_module, "_HASHER", spy)
    checked, right = burst(accounts.sign_in, spy, username, PASSWORD, LockedOut)
    assert checked <= MAX_FAILURES
    assert right == "locked"  # the right password too, once five were being tried
    with pytest.raises(LockedOut):
        accounts.sign_in(username, PASSWORD)
    assert spy.checked == checked  # refused without being checked


def test_a_right_password_clears_the_count_of_wrong_ones(accounts):
    accounts.create_account("casey", "Casey Coordinator", "coordinator", PASSWORD)
    for _ in range(MAX_FAILURES - 1):
        assert accounts.sign_in("casey", "guess") is None
    assert accounts.sign_in("casey", PASSWORD)["username"] == "casey"
    for _ in range(MAX_FAILURES - 1):
        assert accounts.sign_in("casey", "guess") is None
    assert accounts.sign_in("casey", PASSWORD)["username"] == "casey"


# ---- through the pages: the limit per client address ---------------------------------


@pytest.fixture
def app(casework_app, casework):
    # A right password is answered with the second factor's page (302), as wrong ones are
    # not: that is all these tests need of it.
    staff_member(casework.staff, "casey", "Casey Coordinator", "coordinator")
    staff_member(casework.staff, "robin", "Robin Coordinator", "coordinator")
    return casework_app


def client_at(app, address: str, forwarded_for: str | None = None):
    """A browser at `address` (loopback only), as the app sees it: its peer, and the
    X-Forwarded-For header it arrives with."""
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=address, HTTP_REFERER=f"{BASE}/")
    if forwarded_for:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def sign_in(client, username: str, password: str):
    page = client.get(f"{BASE}/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"username": username, "password": password, "csrf_token": token}
    return client.post(f"{BASE}/sign-in", data=form)


def test_one_address_may_try_ten_sign_ins_a_minute_whatever_it_claims(app):
    # Spraying a password across usernames, and naming another address each time in a
    # header that only a trusted proxy may set.
    sprayer = client_at(app, "127.0.0.2")
    answers = []
    for n in range(10):
        sprayer.environ_base["HTTP_X_FORWARDED_FOR"] = f"127.0.1.{n}"
        answers.append(sign_in(sprayer, f"user{n}", "Summer2026!").status_code)
    assert answers == [401] * 10
    refused = sign_in(sprayer, "robin", PASSWORD)
    assert refused.status_code == 429
    assert error_summary(refused.get_data(as_text=True)) == [TOO_MANY_FROM_ADDRESS]
    assert "<title>Error: Sign in" in refused.get_data(as_text=True)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert sign_in(client_at(app, "127.0.0.3"), "robin", PASSWORD).status_code == 302


def test_behind_the_proxy_each_client_has_its_own_limit(app):
    # The test client's peer, 127.0.0.1, is the trusted proxy (FORWARDED_ALLOW_IPS).
    def via_proxy(client_address: str):
        return client_at(app, "127.0.0.1", forwarded_for=client_address)

    busy = via_proxy("127.0.0.4")
    assert [sign_in(busy, f"user{n}", "guess").status_code for n in range(10)] == [401] * 10
    assert sign_in(busy, "robin", PASSWORD).status_code == 429
    assert sign_in(via_proxy("127.0.0.5"), "robin", PASSWORD).status_code == 302


def test_the_limit_holds_across_processes(settings, app):
    # Two apps are two processes' worth of limiters, each with its own database client.
    other = create_app(settings)
    clients = [client_at(app, "127.0.0.2"), client_at(other, "127.0.0.2")]
    answers = [sign_in(clients[n % 2], f"user{n}", "guess").status_code for n in range(10)]
    assert answers == [401] * 10
    assert [sign_in(c, "robin", PASSWORD).status_code for c in clients] == [429, 429]


def test_five_wrong_passwords_lock_the_username_for_a_while(app):
    for n, username in enumerate(["casey", "nobody"]):  # an unknown username the same
        client = client_at(app, f"127.0.0.{10 + n}")
        assert [sign_in(client, username, "guess").status_code for _ in range(5)] == [401] * 5
        locked = sign_in(client, username, "guess")
        assert locked.status_code == 429
        assert error_summary(locked.get_data(as_text=True)) == [LOCKED_OUT]
    elsewhere = client_at(app, "127.0.0.12")
    assert sign_in(elsewhere, "casey", PASSWORD).status_code == 429  # even the right one
    assert sign_in(elsewhere, "robin", PASSWORD).status_code == 302  # others are not affected


def test_the_sign_in_form_needs_its_csrf_token(app):
    client = client_at(app, "127.0.0.2")
    answer = client.post(f"{BASE}/sign-in", data={"username": "robin", "password": PASSWORD})
    assert answer.status_code == 400
    assert "This form has expired" in answer.get_data(as_text=True)


# ---- expiry ----------------------------------------------------------------------------


def test_expired_sessions_and_attempts_count_for_nothing_before_they_are_deleted(
    accounts, monkeypatch
):
    account, _ = accounts.create_account("casey", "Casey Coordinator", "coordinator", PASSWORD)
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
    [
        ("sessions", "expires_at"),
        ("sign_in_attempts", "expires_at"),
        ("rate_limit_windows", "expireAt"),
    ],
)
def test_what_expires_has_a_ttl_index(casework, collection, field):
    indexes = casework.staff.collection.database[collection].index_information().values()
    ttl = [(i["key"], i["expireAfterSeconds"]) for i in indexes if "expireAfterSeconds" in i]
    assert ttl == [([(field, 1)], 0)]
