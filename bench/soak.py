"""Soak: the stack as `make run` starts it, taking referrals at RATE a second for SECONDS,
while the broker, the database and each worker are SIGKILLed at random every 30 to 60 s.

A partner posts each referral with an Idempotency-Key and, as a partner's system would,
tries again with the same key whenever it gets no answer or a 5xx, waiting as long as
Retry-After asks. After each kill a probe referral measures the time to heal: from the
kill until a referral posted after it is "accepted" (its case opened and intake told).
Afterwards every count must be exact: each referral answered 201 stored once, one case
each, none left "received". Results go to docs/reliability.md. Not part of `make test`:

    make soak
"""

from __future__ import annotations

import collections
import os
import random
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from pymongo import MongoClient

from bench.sample import body
from services import NAMES
from tests.background import wait_for
from tests.e2e.stack import Stack

ROOT = Path(__file__).resolve().parent.parent
RATE = float(os.environ.get("SOAK_RATE", "20"))
SECONDS = float(os.environ.get("SOAK_SECONDS", "600"))
SEED = int(os.environ.get("SOAK_SEED", str(random.randrange(1_000_000))))
TARGETS = ["broker", "database", *(f"{name}-worker" for name in NAMES)]
GIVE_UP_SECONDS = 300  # a partner's system would keep trying; the soak has to stop


class Partner:
    """Posts referrals, each retried with its Idempotency-Key until answered 201."""

    def __init__(self, stack: Stack, key: str) -> None:
        self.url = f"{stack.url('referral')}/v1/referrals"
        self.headers = {"Authorization": f"Bearer {key}"}
        self.first_answers: collections.Counter = collections.Counter()
        self.retries = 0
        self.accepted: set[str] = set()
        self.gave_up = 0
        self.lock = threading.Lock()

    def refer(self, n: int) -> str | None:
        """Posts referral `n` until answered 201; answers its id."""
        headers = self.headers | {"Idempotency-Key": str(uuid.uuid4())}
        deadline, pause, first = time.monotonic() + GIVE_UP_SECONDS, 0.5, True
        while time.monotonic() < deadline:
            try:
                answer = requests.post(self.url, json=body(n), headers=headers, timeout=10)
                status = answer.status_code
            except requests.RequestException:
                answer, status = None, "no answer"
            with self.lock:
                if first:
                    self.first_answers[status] += 1
                else:
                    self.retries += 1
                if status == 201:
                    self.accepted.add(answer.json()["id"])
                    return answer.json()["id"]
            if status not in ("no answer", 429) and status < 500:
                raise AssertionError(f"referral {n} refused: {status} {answer.text}")
            first = False
            asked = float(answer.headers.get("Retry-After", 0)) if answer is not None else 0
            time.sleep(max(pause, asked))
            pause = min(pause * 2, 5.0)
        with self.lock:
            self.gave_up += 1
        return None

    def status_of(self, referral_id: str) -> str | None:
        try:
            answer = requests.get(f"{self.url}/{referral_id}", headers=self.headers, timeout=5)
            return answer.json().get("status") if answer.status_code == 200 else None
        except (requests.RequestException, ValueError):
            return None


def chaos(stack: Stack, partner: Partner, stop: threading.Event, kills: list[dict]) -> None:
    """Kills a process every 30 to 60 s, each target in turn in a shuffled order."""
    chooser = random.Random(SEED)
    order: list[str] = []
    started = time.monotonic()
    while not stop.wait(chooser.uniform(30, 60)):
        if not order:
            order = chooser.sample(TARGETS, len(TARGETS))
        kill = {"at": time.monotonic() - started, "target": order.pop()}
        kills.append(kill)
        kill |= kill_and_measure(stack, partner, kill["target"], probe=9_000_000 + len(kills))


def kill_and_measure(stack: Stack, partner: Partner, target: str, probe: int) -> dict:
    """SIGKILLs `target`; answers how long until it ran again and until a referral posted
    after the kill was accepted."""
    old = stack.kill(target)
    killed = time.monotonic()
    print(f"killed {target}", flush=True)
    measured = {"restarted": None, "healed": None}
    if wait_for(lambda: stack.restarted(target, old), 60):
        measured["restarted"] = time.monotonic() - killed
    referral_id = partner.refer(probe)
    if referral_id and wait_for(lambda: partner.status_of(referral_id) == "accepted", 120):
        measured["healed"] = time.monotonic() - killed
    print(f"  {measured}", flush=True)
    return measured


def offer(partner: Partner, seconds: float) -> None:
    """RATE referrals a second for `seconds`, whether or not earlier ones were answered."""
    begin = time.monotonic()
    with ThreadPoolExecutor(max_workers=256) as pool:
        for i in range(int(RATE * seconds)):
            time.sleep(max(0.0, begin + i / RATE - time.monotonic()))
            pool.submit(partner.refer, i + 1)


def counts(stack: Stack, partner: Partner) -> dict:
    """What each service holds, read from their databases."""
    client = MongoClient(stack.env["MONGODB_URI"])
    # The soak's partner is the stack's only one: one pass over each collection (an $in of
    # thousands of ids is far slower on the local database).
    status_of = {
        r["_id"]: r["status"]
        for r in client.familyties_referral.referrals.find({}, {"_id": 1, "status": 1})
    }
    stored = partner.accepted & set(status_of)
    by_status = collections.Counter(status_of[i] for i in stored)
    cases = client.familyties_casework.cases.find({}, {"referral_id": 1})
    per_referral = collections.Counter(case["referral_id"] for case in cases)
    client.close()
    return {
        "answered 201": len(partner.accepted),
        "stored": len(stored),
        "stored but never answered 201": len(set(status_of) - partner.accepted),
        "missing": len(partner.accepted - stored),
        "statuses": dict(by_status),
        "with one case": sum(1 for i in partner.accepted if per_referral[i] == 1),
        "with no case": sum(1 for i in partner.accepted if per_referral[i] == 0),
        "with more than one case": sum(1 for count in per_referral.values() if count > 1),
        "cases without a referral": sum(1 for i in per_referral if i not in status_of),
    }


def all_accepted(stack: Stack, partner: Partner) -> bool:
    result = counts(stack, partner)
    return result["statuses"] == {"accepted": result["answered 201"]}


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="familyties-soak-"))
    stack = Stack(workdir / "var", workdir / "stack.log")
    stack.env["LOG_LEVEL"] = "WARNING"
    stack.start()
    print(f"soak: {RATE:.0f}/s for {SECONDS:.0f} s, seed {SEED}, log {stack.log_path}")
    kills: list[dict] = []
    try:
        partner = Partner(stack, stack.new_partner_key("Soak partner"))
        stop = threading.Event()
        killer = threading.Thread(target=chaos, args=(stack, partner, stop, kills))
        killer.start()
        offer(partner, SECONDS)
        stop.set()
        killer.join()
        drained = time.monotonic()
        settled = wait_for(lambda: all_accepted(stack, partner), 300)
        drain = time.monotonic() - drained
        result = counts(stack, partner)
    finally:
        stack.stop()
    write_report(partner, kills, result, settled, drain)


def write_report(partner: Partner, kills: list, result: dict, settled: bool, drain: float):
    exact = (
        settled
        and partner.gave_up == 0
        and result["missing"] == 0
        and result["with one case"] == result["answered 201"]
        and result["with more than one case"] == 0
        and result["cases without a referral"] == 0
        and result["stored but never answered 201"] == 0
    )

    def seconds(value: float | None) -> str:
        return "never" if value is None else f"{value:.1f}"

    rows = "\n".join(
        f"| {k['at']:.0f} | {k['target']} | {seconds(k['restarted'])} | {seconds(k['healed'])} |"
        for k in kills
    )
    healed = [k["healed"] for k in kills if k["healed"] is not None]
    text = TEMPLATE.format(
        date=time.strftime("%Y-%m-%d"),
        rate=RATE,
        seconds=SECONDS,
        seed=SEED,
        rows=rows,
        first=", ".join(f"{s}: {n}" for s, n in sorted(partner.first_answers.items(), key=str)),
        retries=partner.retries,
        gave_up=partner.gave_up,
        counts="\n".join(f"| {name} | {value} |" for name, value in result.items()),
        worst=max(healed, default=float("nan")),
        drain=drain,
        verdict="Every count is exact." if exact else "**Counts are NOT exact.**",
    )
    (ROOT / "docs" / "reliability.md").write_text(text)
    print(text)


TEMPLATE = """# Reliability: the soak

Measured by `make soak` (bench/soak.py) on {date}: the stack as `make run` starts it,
a partner posting {rate:.0f} referrals a second for {seconds:.0f} s, while every 30 to
60 s one of the broker, the database and the five workers is SIGKILLed (each in turn, in
an order shuffled with seed {seed}). supervisord restarts whatever was killed. The partner
sends each referral with an `Idempotency-Key` and tries again with the same key when it
gets no answer or a 5xx, backing off from 0.5 to 5 s, or as long as `Retry-After` asks.

## Kills and time to heal

"Restarted" is from the kill until supervisord runs the process again; "healed" until a
referral posted after the kill is "accepted" (its case opened in casework and intake
told), which includes that referral's own trip.

| at s | killed | restarted after s | healed after s |
|---|---|---|---|
{rows}

Slowest heal: {worst:.1f} s.

## Counts afterwards

First answers to a POST: {first}. Retries with the same key: {retries}; referrals given up
on: {gave_up}. After the load stopped, the last referrals were all accepted within
{drain:.0f} s.

| | |
|---|---|
{counts}

{verdict}
"""


if __name__ == "__main__":
    main()
