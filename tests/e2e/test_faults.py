"""Nothing accepted is ever lost: the stack as `make run` starts it, through a broker
restart, a database crash, a database outage, each worker killed, and Ctrl-C, all in the
middle of a burst of referrals. Every referral answered 201 becomes exactly one case, and
its partner sees "accepted"; no case exists without its referral. The partner does what
the README asks: it sends an Idempotency-Key and, for a 503 or no answer, tries again
with the same key, since a referral taken just as the database died may be answered 503."""

from __future__ import annotations

import collections
import threading
import time

import pytest
import requests

from services import NAMES
from tests.background import wait_for
from tests.e2e.stack import Stack
from tests.factories import referral

pytestmark = pytest.mark.e2e
ANSWERED_201: set[str] = set()  # every referral of this module's stack that intake took
WORKERS = [f"{name}-worker" for name in NAMES]


class Burst(threading.Thread):
    """A partner posting `count` referrals, `per_second`, while something goes wrong."""

    def __init__(self, stack: Stack, partner: dict, first: int, count: int, per_second: float):
        super().__init__()
        self.stack, self.partner = stack, partner
        self.numbers = range(first, first + count)
        self.pause = 1 / per_second
        self.statuses: list[int | None] = []  # None: no answer at all (the stack stopped)
        self.accepted: set[str] = set()
        self.unanswered: list[int] = []  # numbers not answered 201 (yet)

    def run(self) -> None:
        for n in self.numbers:
            started = time.monotonic()
            status = self.send(n)
            self.statuses.append(status)
            if status != 201:
                self.unanswered.append(n)
            time.sleep(max(0.0, self.pause - (time.monotonic() - started)))

    def send(self, n: int) -> int | None:
        """Posts referral `n` with its own Idempotency-Key; answers the status, or None."""
        headers = self.partner | {"Idempotency-Key": f"burst-referral-{n}"}
        try:
            answer = requests.post(
                f"{self.stack.url('referral')}/v1/referrals",
                json=referral(n),
                headers=headers,
                timeout=10,
            )
        except requests.RequestException:
            return None
        if answer.status_code == 201:
            self.accepted.add(answer.json()["id"])
            ANSWERED_201.add(answer.json()["id"])
        return answer.status_code

    def retry_unanswered(self) -> bool:
        """Tries each referral not yet answered 201 again, with the same key; answers
        whether every one now is."""
        self.unanswered = [n for n in self.unanswered if self.send(n) != 201]
        return not self.unanswered


@pytest.fixture(scope="module")
def manager(stack) -> dict[str, str]:
    return stack.new_staff("morgan.manager", "manager")[1]


@pytest.fixture
def partner(stack, request) -> dict[str, str]:
    key = stack.new_partner_key(f"Partner of {request.node.name}"[:100])
    return {"Authorization": f"Bearer {key}"}


def statuses_seen_by(stack: Stack, partner: dict) -> dict[str, str]:
    seen, page = {}, 1
    while True:
        answer = requests.get(
            f"{stack.url('referral')}/v1/referrals",
            params={"per_page": 100, "page": page},
            headers=partner,
            timeout=10,
        ).json()
        seen |= {item["id"]: item["status"] for item in answer["items"]}
        if page >= answer["total_pages"]:
            return seen
        page += 1


def all_accepted(stack: Stack, partner: dict, ids: set[str]) -> bool:
    try:
        seen = statuses_seen_by(stack, partner)
    except (requests.RequestException, ValueError):
        return False  # the stack is still coming back
    return all(seen.get(referral_id) == "accepted" for referral_id in ids)


def assert_one_case_each(stack: Stack, manager: dict, ids: set[str]) -> None:
    cases = requests.get(f"{stack.url('casework')}/v1/cases", headers=manager, timeout=30)
    per_referral = collections.Counter(case["referral_id"] for case in cases.json())
    assert {i: per_referral[i] for i in ids} == dict.fromkeys(ids, 1), "one case each"
    assert set(per_referral) <= ANSWERED_201, "no case without a referral intake answered"


def killed_mid_burst(stack: Stack, partner: dict, process: str, first: int, count: int):
    """SIGKILLs `process` a moment into a burst; answers the finished burst, the killed
    process's pid and when it was killed."""
    burst = Burst(stack, partner, first=first, count=count, per_second=10)
    burst.start()
    time.sleep(1.5)
    old = stack.kill(process)
    killed = time.monotonic()
    burst.join()
    return burst, old, killed


def test_a_broker_killed_mid_burst_is_restarted_and_loses_nothing(stack, partner, manager):
    burst, old, killed = killed_mid_burst(stack, partner, "broker", first=1000, count=40)
    assert burst.statuses == [201] * 40, "intake takes referrals with the broker away"
    assert wait_for(lambda: stack.restarted("broker", old), 30)
    assert wait_for(lambda: all_accepted(stack, partner, burst.accepted), 120)
    print(f"broker killed: every referral a case and accepted {time.monotonic() - killed:.1f} s on")
    assert_one_case_each(stack, manager, burst.accepted)


def test_a_database_killed_mid_burst_keeps_every_referral_it_took(stack, partner, manager):
    burst, old, killed = killed_mid_burst(stack, partner, "database", first=2000, count=40)
    assert wait_for(lambda: stack.restarted("database", old), 30)
    # While it restarts intake answers 503 (try again); whatever it answered 201 is kept.
    assert set(burst.statuses) <= {201, 503}
    assert burst.accepted, "the burst began before the kill"
    taken_before_retries = set(burst.accepted)
    assert wait_for(burst.retry_unanswered, 60), "each 503 is taken when tried again"
    assert len(burst.accepted) == 40, "a retry with the same key is never a second referral"
    assert wait_for(lambda: all_accepted(stack, partner, burst.accepted), 120)
    print(f"database killed: all accepted {time.monotonic() - killed:.1f} s on")
    seen = statuses_seen_by(stack, partner)
    assert taken_before_retries <= set(seen), "every referral answered 201 still exists"
    assert set(seen) == burst.accepted, "no referral the partner was not answered 201 for"
    assert_one_case_each(stack, manager, burst.accepted)


@pytest.mark.parametrize("worker", WORKERS)
def test_a_worker_killed_mid_burst_is_restarted_and_catches_up(stack, partner, manager, worker):
    first = 3000 + 100 * WORKERS.index(worker)
    burst, old, killed = killed_mid_burst(stack, partner, worker, first=first, count=20)
    assert burst.statuses == [201] * 20, "intake never refused a request"
    assert wait_for(lambda: stack.restarted(worker, old), 30)
    assert wait_for(lambda: all_accepted(stack, partner, burst.accepted), 30)
    print(f"{worker} killed: all accepted {time.monotonic() - killed:.1f} s on")
    assert_one_case_each(stack, manager, burst.accepted)


def test_with_the_database_stopped_every_api_answers_503_at_once(stack, partner, manager):
    stack.control("stop", "servers:database")
    try:
        calls = [
            ("POST", f"{stack.url('referral')}/v1/referrals", partner, referral(4000)),
            ("GET", f"{stack.url('referral')}/v1/referrals", partner, None),
            ("GET", f"{stack.url('casework')}/v1/cases", manager, None),
            ("GET", f"{stack.url('directory')}/services", {}, None),
        ]
        for method, url, headers, body in calls:
            started = time.monotonic()
            answer = requests.request(method, url, json=body, headers=headers, timeout=10)
            elapsed = time.monotonic() - started
            assert answer.status_code == 503, (url, answer.status_code)
            assert answer.headers["Content-Type"] == "application/problem+json"
            assert answer.headers["Retry-After"]
            assert elapsed < 1, f"{url} took {elapsed:.2f} s"
        for name in ("referral", "casework", "directory"):
            started = time.monotonic()
            ready = requests.get(f"{stack.url(name)}/readyz", timeout=10)
            assert ready.status_code == 503
            assert time.monotonic() - started < 1
    finally:
        stack.control("start", "servers:database")

    after = Burst(stack, partner, first=4001, count=1, per_second=1)
    assert wait_for(lambda: after.send(4001) == 201, 60), "taken again, with no restart"
    assert wait_for(lambda: all_accepted(stack, partner, after.accepted), 60)


def test_ctrl_c_mid_burst_then_make_run_again_loses_nothing(stack, partner, manager):
    burst = Burst(stack, partner, first=5000, count=30, per_second=10)
    burst.start()
    time.sleep(1.5)
    stack.stop()
    burst.join()
    assert burst.accepted, "the burst began before Ctrl-C"
    stack.start()
    assert wait_for(burst.retry_unanswered, 60), "each one not answered is taken when tried again"
    assert len(burst.accepted) == 30
    assert wait_for(lambda: all_accepted(stack, partner, burst.accepted), 120)
    assert_one_case_each(stack, manager, burst.accepted)
