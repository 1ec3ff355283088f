"""Benchmark: notifications' delivery, by email to the local mail server (MailDev) and by
webhook to a local receiver, against bare loops sending the same messages in the same run;
and, on the whole stack, the time from a partner's referral to its webhook.

Delivery: MESSAGES messages of one channel are recorded as the handler records them
(rules.referrer_messages, then MessageMaker), then sent by the real Sender with THREADS
sending threads (NOTIFICATION_SENDING_THREADS, as the worker runs them). The baselines
send the same messages with smtplib (one connection a thread, as the channel keeps) and
urllib3 (one pool), with one thread and with THREADS. The receiver runs in a process of
its own, so that it takes no interpreter time from the senders.

Time to webhook: referrals posted to the whole stack (as `make run` starts it) at a modest
rate, each timed from its POST to its webhook's arrival. Results go to docs/benchmarks.md;
the whole takes about 4 minutes.

    python -m bench.notifications
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import queue
import smtplib
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
import urllib3
from pymongo import MongoClient
from pymongo.database import Database

from backbone import mongo
from backbone.ids import new_id
from backbone.sealing import Sealer
from backbone.settings import Settings
from bench import preload
from bench.capacity import CasesOpened, offer, percentiles
from bench.intake import cpu_seconds
from bench.report import write_section
from services.notifications import SERVICE, rules, templates
from services.notifications.channels import EmailChannel, current_secrets, signature_headers
from services.notifications.delivery import Sender
from services.notifications.endpoints import Endpoints
from services.notifications.handlers import MessageMaker
from services.notifications.repository import DELIVERED, Store
from tests import servers, webhook_receiver
from tests.background import wait_for
from tests.e2e.stack import Stack
from tests.mail_catcher import MailCatcher

MESSAGES = int(os.environ.get("BENCH_NOTIFICATION_MESSAGES", "150"))
ROUNDS = int(os.environ.get("BENCH_NOTIFICATION_ROUNDS", "2"))
LATENCY_RATE = float(os.environ.get("BENCH_NOTIFICATION_RATE", "2"))
LATENCY_SECONDS = float(os.environ.get("BENCH_NOTIFICATION_SECONDS", "45"))
WARMED = int(os.environ.get("BENCH_NOTIFICATION_WARMED", "2000"))
WARMED_MESSAGES = 30  # delivered from the warmed store: enough for a rate, soon done
IDLE_SECONDS = 2.0
RUN_TIMEOUT = 120.0  # a run that has not delivered everything by then is reported as such
TARGET_RATIO, TARGET_P95 = 0.70, 2.0
LINKS = rules.Links("http://127.0.0.1:8001", "http://127.0.0.1:8002", "http://127.0.0.1:8004")
PARTNER = {"_id": "bench-partner", "name": "Bench partner"}
REFERRER_EMAIL = "life.coach@example.org"
HOOK_TYPES = ["referral.received"]
WINDOWS = 3  # the time to webhook is also shown by thirds of the run
BUSY = ("database", "notifications-worker")  # processes whose CPU the run reports
# What a sending thread does for each message, timed: "compose" (email) and "lookup" (the
# endpoint, webhook) are parts of "send"; "release lane" is part of "record".
PHASES = ("claim", "send", "compose", "lookup", "record", "release lane")


# ---- the receiver, in a process of its own ------------------------------------------


def _serve(connection: Any) -> None:
    """The child: a webhook receiver answering 200; on request, what arrived at a path."""
    receiver = webhook_receiver.start()
    connection.send(receiver.base)
    while (path := connection.recv()) is not None:
        connection.send(
            [
                (call.headers.get("webhook-id", ""), call.received_at, call.body)
                for call in receiver.calls_to(path)
            ]
        )


class Receiver:
    """A webhook receiver (tests/webhook_receiver.py) run in a child process."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # no copy of this process's threads
        self._connection, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), daemon=True)
        self.process.start()
        self.base = self._connection.recv()

    def calls(self, path: str) -> list[tuple[str, float, bytes]]:
        """(webhook-id, arrival time, body) of every call to `path`."""
        self._connection.send(path)
        return self._connection.recv()

    def stop(self) -> None:
        self._connection.send(None)
        self.process.join(10)


# ---- delivery -------------------------------------------------------------------------


class Timings:
    """Seconds spent in chosen methods of chosen objects, summed over threads: an instance
    attribute shadows the method, so the object's own calls (self.x()) are timed too."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def time(self, target: object, method: str, label: str) -> None:
        inner = getattr(target, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                with self._lock:
                    self.seconds[label] = self.seconds.get(label, 0.0) + spent

        setattr(target, method, timed)

    def ms_per(self, label: str, count: int) -> float | None:
        if label not in self.seconds:
            return None
        return 1000 * self.seconds.get(label, 0.0) / count


class Bench:
    """The servers of the delivery runs, and a fresh notifications database per run."""

    def __init__(
        self, uri: str, db_pid: int, smtp_port: int, web_port: int, receiver: Receiver
    ) -> None:
        self.base_settings = Settings.from_env()
        self.uri = uri
        self.db_pid = db_pid
        self.mail = MailCatcher(smtp_port, web_port)
        self.receiver = receiver
        self.threads = self.base_settings.notification_sending_threads
        self.runs = 0

    def settings(self) -> Settings:
        self.runs += 1
        return dataclasses.replace(
            self.base_settings,
            mongodb_uri=self.uri,
            smtp_host="127.0.0.1",
            smtp_port=self.mail.smtp_port,
            smtp_security="none",
            webhook_allow_private_addresses=True,  # the receiver is on 127.0.0.1
            database_prefix=f"bench{self.runs}_",
        )

    def recorded(self, channel: str, count: int) -> tuple[Settings, Store, MessageMaker, str]:
        """A fresh store holding `count` queued messages of `channel`, each of a referral of
        its own (so in a lane of its own), recorded as the handler records them."""
        settings = self.settings()
        store = Store(mongo.database(settings, SERVICE))
        store.ensure_indexes()
        maker = MessageMaker(store, templates.check_all(), timedelta(days=3))
        path = f"/run-{self.runs}"
        endpoints = []
        if channel == "webhook":
            body = {"url": f"{self.receiver.base}{path}", "event_types": HOOK_TYPES}
            sealer = Sealer.from_settings(settings)
            endpoints = [Endpoints(store, True, sealer).register(PARTNER, body)]
        for _ in range(count):
            referral_id = new_id()
            referral = {
                "_id": referral_id,
                "partner_id": PARTNER["_id"],
                "referrer_email": REFERRER_EMAIL if channel == "email" else None,
            }
            data = {"referral_id": referral_id, "received_at": "2026-11-23T10:00:00+00:00"}
            intents = rules.referrer_messages(
                "ReferralReceived", data, referral, PARTNER, endpoints, LINKS
            )
            maker.record(new_id(), intents)
        assert store.messages.count_documents({"channel": channel}) == count
        return settings, store, maker, path

    def arrived(self, channel: str, path: str) -> int:
        """Distinct messages that reached the mail server or the receiver."""
        if channel == "email":
            return len({email["headers"]["message-id"] for email in self.mail.emails()})
        return len({webhook_id for webhook_id, _, _ in self.receiver.calls(path)})

    def service(self, channel: str, threads: int, warmed: int = 0) -> dict:
        """The real Sender, `threads` sending threads, delivering MESSAGES messages from a
        fresh store, or WARMED_MESSAGES from one holding `warmed` delivered ones besides;
        then, with nothing left to send, what its idle threads cost the database."""
        count = WARMED_MESSAGES if warmed else MESSAGES
        settings, store, maker, path = self.recorded(channel, count)
        if warmed:
            template = store.messages.find_one({"channel": channel})
            preload.delivered_messages(store.messages, template, warmed)
        self.mail.clear()
        sender = Sender(store, maker, settings)
        timings = Timings()
        timings.time(store, "claim", "claim")
        timings.time(store, "release_lane", "release lane")
        timings.time(store, "finish", "record")  # the release, timed apart, is within it
        timings.time(sender.channels[channel], "send", "send")
        if channel == "webhook":
            timings.time(store.endpoints, "find_one", "lookup")  # the endpoint, within send
        else:
            timings.time(sender.channels["email"], "compose", "compose")  # within send
        done = _Countdown(count)
        finish = store.finish

        def counted(message: dict, update: dict, *events: dict) -> None:
            finish(message, update, *events)
            if update["$set"]["status"] == DELIVERED:
                done.one()

        store.finish = counted  # type: ignore[method-assign]
        stop = threading.Event()
        running = [threading.Thread(target=sender.run, args=(stop,)) for _ in range(threads)]
        usage = _Usage(self.db_pid)
        try:
            for thread in running:
                thread.start()
            delivered = done.wait(RUN_TIMEOUT)
            elapsed = time.perf_counter() - usage.started
            used = usage.spent()
            idle = _Usage(self.db_pid)
            time.sleep(IDLE_SECONDS)
            idle_db_cpu = idle.spent()["db_cpu"] / (time.perf_counter() - idle.started)
        finally:  # the sending threads are not daemons: stopped whatever happens
            stop.set()
            for thread in running:
                thread.join(30)
        result = _rate("service", threads, delivered, elapsed, used)
        return result | {
            "kind": "warmed" if warmed else "fresh",
            "stored": store.messages.estimated_document_count(),
            "phases": {label: timings.ms_per(label, max(delivered, 1)) for label in PHASES},
            "idle_db_cpu": idle_db_cpu,
            "arrived": self.arrived(channel, path),
            "store": store,
        }

    def bare(self, channel: str, store: Store, threads: int) -> dict:
        """A bare loop sending the same messages: compose (or sign) and send, nothing else."""
        messages = list(store.messages.find({"channel": channel}).sort("_id", 1))
        path = f"/bare-{self.runs}-{threads}"
        self.mail.clear()
        work: queue.SimpleQueue = queue.SimpleQueue()
        for message in messages:
            work.put(message)
        if channel == "email":
            loop = self._email_loop(work)
        else:
            sealer = Sealer.from_settings(self.base_settings)
            secrets = current_secrets(store.endpoints.find_one(), sealer)
            loop = self._webhook_loop(work, f"{self.receiver.base}{path}", secrets, threads)
        usage = _Usage(None)
        with ThreadPoolExecutor(threads) as pool:
            for running in [pool.submit(loop) for _ in range(threads)]:
                running.result()  # a failed send fails the benchmark
        elapsed = time.perf_counter() - usage.started
        result = _rate("bare loop", threads, len(messages), elapsed, usage.spent())
        return result | {"arrived": self.arrived(channel, path)}

    def _email_loop(self, work: queue.SimpleQueue) -> Callable[[], None]:
        composer = EmailChannel(self.base_settings)  # the very bytes the channel sends

        def loop() -> None:
            connection = smtplib.SMTP("127.0.0.1", self.mail.smtp_port, timeout=10)
            while (message := _next(work)) is not None:
                connection.send_message(composer.compose(message))
            connection.quit()

        return loop

    def _webhook_loop(
        self, work: queue.SimpleQueue, url: str, secrets: list[str], threads: int
    ) -> Callable[[], None]:
        pool = urllib3.PoolManager(maxsize=threads)

        def loop() -> None:
            while (message := _next(work)) is not None:
                body = message["webhook"]["body"]
                headers = {"content-type": "application/json"}
                headers |= signature_headers(message["_id"], body, secrets)
                answer = pool.request(
                    "POST", url, body=body.encode(), headers=headers, retries=False, redirect=False
                )
                assert answer.status == 200, answer.status

        return loop


class _Countdown:
    """Counts deliveries recorded; `wait` answers once all expected are (or at timeout)."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.lock = threading.Lock()
        self.all_done = threading.Event()

    def one(self) -> None:
        with self.lock:
            self.count += 1
            if self.count >= self.expected:
                self.all_done.set()

    def wait(self, timeout: float) -> int:
        self.all_done.wait(timeout)
        return self.count


class _Usage:
    """CPU of this process (the senders) and of the database server, from now on."""

    def __init__(self, db_pid: int | None) -> None:
        self.db_pid = db_pid
        self.db = cpu_seconds(db_pid) if db_pid else 0.0
        self.own = time.process_time()
        self.started = time.perf_counter()

    def spent(self) -> dict[str, float]:
        db = cpu_seconds(self.db_pid) - self.db if self.db_pid else 0.0
        return {"own_cpu": time.process_time() - self.own, "db_cpu": db}


def _next(work: queue.SimpleQueue) -> dict | None:
    try:
        return work.get_nowait()
    except queue.Empty:
        return None


def _rate(name: str, threads: int, count: int, elapsed: float, used: dict) -> dict:
    return {
        "name": name,
        "threads": threads,
        "delivered": count,
        "rate": count / elapsed,
        "own_cpu_ms": 1000 * used["own_cpu"] / max(count, 1),
        "db_cpu_ms": 1000 * used["db_cpu"] / max(count, 1),
    }


def raw_database_rates(store: Store, count: int = 30) -> dict[str, float]:
    """The database server's own rates, one client, for the kinds of write a delivery makes:
    a find_one_and_update (the claim's kind) and an update_one, each by `_id`; and a claim
    done otherwise, an indexed find of the next due message then a conditional update_one."""
    ids = [m["_id"] for m in store.messages.find({}, {"_id": 1}).limit(count)]
    store.messages.update_many({"_id": {"$in": ids}}, {"$set": {"status": "bench-due"}})

    def indexed_claim(_: str) -> None:
        due = {"status": "bench-due"}
        found = store.messages.find_one(due, {"_id": 1}, sort=[("next_attempt_at", 1)])
        taken = {"$set": {"status": "bench-taken"}}
        assert store.messages.update_one({**due, "_id": found["_id"]}, taken).modified_count

    rates = {}
    for name, write in (
        ("find_one_and_update", lambda i: store.messages.find_one_and_update({"_id": i}, BUMP)),
        ("update_one", lambda i: store.messages.update_one({"_id": i}, BUMP)),
        ("find_one + update_one", indexed_claim),
    ):
        started = time.perf_counter()
        for message_id in ids:
            write(message_id)
        rates[name] = len(ids) / (time.perf_counter() - started)
    return rates


BUMP = {"$inc": {"bench": 1}}


def delivery(workdir: Path) -> dict:
    """ROUNDS rounds, each channel in turn: the service with THREADS sending threads, the
    bare loops (one thread, THREADS) on the same messages, the service with one thread.
    Then the service once more per channel on a store holding WARMED delivered messages,
    and the database's raw rates on a fresh store and a warmed one."""
    runs: dict[str, list[dict]] = {}
    raw: dict[str, dict[str, float]] = {}

    def keep(channel: str, result: dict) -> Store | None:
        store = result.pop("store", None)
        key = f"{channel}|{result['name']}|{result['threads']}|{result.get('kind', 'fresh')}"
        runs.setdefault(key, []).append(result)
        print(key, result, flush=True)
        return store

    receiver = Receiver()
    try:
        with (
            servers.database(workdir / "db", workdir) as (uri, db),
            servers.mail_server(workdir) as (smtp_port, web_port, _),
        ):
            bench = Bench(uri, db.pid, smtp_port, web_port, receiver)
            for _ in range(ROUNDS):
                for channel in ("email", "webhook"):
                    store = keep(channel, bench.service(channel, bench.threads))
                    assert store is not None
                    keep(channel, bench.bare(channel, store, 1))
                    keep(channel, bench.bare(channel, store, bench.threads))
                    keep(channel, bench.service(channel, 1))
            raw["fresh"] = raw_database_rates(store)
            for channel in ("email", "webhook"):
                store = keep(channel, bench.service(channel, bench.threads, WARMED))
            assert store is not None
            raw["warmed"] = raw_database_rates(store)
    finally:
        receiver.stop()
    return {"runs": runs, "raw": raw, "threads": bench.threads, "load": os.getloadavg()[1]}


# ---- latency on the whole stack -------------------------------------------------------


def latency(workdir: Path) -> dict:
    """Referrals posted at LATENCY_RATE a second for LATENCY_SECONDS to the stack as `make
    run` starts it; each one's time from its POST to its webhook at the receiver."""
    receiver = Receiver()
    stack = Stack(workdir / "var", workdir / "stack.log")
    try:
        stack.start()
        headers = {"Authorization": f"Bearer {stack.new_partner_key(PARTNER['name'])}"}
        api = stack.url("notifications")
        # notifications learns of the partner from intake's PartnerChanged
        assert wait_for(
            lambda: requests.get(f"{api}/v1/webhooks/endpoints", headers=headers, timeout=10).ok, 60
        )
        endpoint = {"url": f"{receiver.base}/latency", "event_types": HOOK_TYPES}
        made = requests.post(
            f"{api}/v1/webhooks/endpoints", json=endpoint, headers=headers, timeout=10
        )
        assert made.status_code == 201, made.text
        contact = {"email": "referrals.team@example.org"}  # the emails each referral makes
        answer = requests.put(
            f"{api}/v1/partner/contact", json=contact, headers=headers, timeout=10
        )
        answer.raise_for_status()
        warm = offer(stack, headers, LATENCY_RATE, 5, first=1)["sent"]
        assert wait_for(lambda: len(receiver.calls("/latency")) >= len(warm), 60)
        watcher = CasesOpened(stack.broker)  # when each ReferralReceived was published
        watcher.start()
        pids = {name: stack.pid_of(name) for name in BUSY}
        cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
        started = time.perf_counter()
        offered = offer(stack, headers, LATENCY_RATE, LATENCY_SECONDS, first=1_000_000)
        sent = offered["sent"]
        wait_for(lambda: len(receiver.calls("/latency")) >= len(warm) + len(sent), 90)
        busy = {
            name: (cpu_seconds(pid) - cpu[name]) / (time.perf_counter() - started)
            for name, pid in pids.items()
        }
        watcher.stop.set()
        arrived: dict[str, float] = {}
        for _, at, body in receiver.calls("/latency"):
            referral_id = json.loads(body)["data"]["referral_id"]
            arrived[referral_id] = min(at, arrived.get(referral_id, at))
        client = MongoClient(stack.env["MONGODB_URI"], tz_aware=True)
        notifications = client[Settings().database_name(SERVICE)]
        stages = _stages(notifications, sent, watcher.published, arrived)
        stored = notifications.messages.estimated_document_count()
        client.close()
    finally:
        if stack.process is not None and stack.process.poll() is None:
            stack.stop()
        receiver.stop()
    times = sorted(arrived[i] - sent[i] for i in sent if i in arrived)
    p50, p95 = percentiles(times)
    first, width = min(sent.values()), LATENCY_SECONDS / WINDOWS
    windows: list[list[float]] = [[] for _ in range(WINDOWS)]
    for referral_id in set(sent) & set(arrived):
        number = min(int((sent[referral_id] - first) / width), WINDOWS - 1)
        windows[number].append(arrived[referral_id] - sent[referral_id])
    return {
        "offered": offered["offered"],
        "created": len(sent),
        "arrived": len(times),
        "p50": p50,
        "p95": p95,
        "max": times[-1] if times else float("nan"),
        "post_p95": percentiles([t for _, t in offered["answers"]])[1],
        "stages": stages,
        "windows": [percentiles(times) for times in windows],
        "busy": busy,
        "stored": stored,
        "load": os.getloadavg()[1],
    }


def _stages(
    db: Database, sent: dict[str, float], published: dict[str, float], arrived: dict[str, float]
) -> dict:
    """p50 and p95 of each stage: the POST to its ReferralReceived on the broker (intake's
    relay), to the webhook message recorded (notifications' consumer and handler), to its
    claim by a sending thread, to its arrival at the receiver."""
    messages = db.messages.find(
        {"channel": "webhook", "referral_id": {"$in": list(sent)}},
        {"referral_id": 1, "created_at": 1, "attempts": 1},
    )
    stages: dict[str, list[float]] = {"published": [], "recorded": [], "claimed": [], "arrived": []}
    for message in messages:
        referral_id = message["referral_id"]
        if referral_id not in arrived or referral_id not in published:
            continue
        recorded = message["created_at"].timestamp()
        claimed = message["attempts"][0]["started_at"].timestamp()
        stages["published"].append(published[referral_id] - sent[referral_id])
        stages["recorded"].append(recorded - published[referral_id])
        stages["claimed"].append(claimed - recorded)
        stages["arrived"].append(arrived[referral_id] - claimed)
    return {name: percentiles(values) for name, values in stages.items()}


# ---- the report ------------------------------------------------------------------------


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="familyties-notifications-"))
    started = time.monotonic()
    delivered = delivery(workdir)
    print(f"delivery runs took {time.monotonic() - started:.0f} s", flush=True)
    timed = latency(workdir)
    print(timed, flush=True)
    print(f"the benchmark took {time.monotonic() - started:.0f} s", flush=True)
    write_report(delivered, timed)


def write_report(delivered: dict, timed: dict) -> None:
    values = {
        "date": time.strftime("%Y-%m-%d"),
        "messages": MESSAGES,
        "warmed": WARMED,
        "warmed_messages": WARMED_MESSAGES,
        "rounds": ROUNDS,
        "rate": LATENCY_RATE,
        "seconds": LATENCY_SECONDS,
    }
    text = TEMPLATE.format(**values, **delivery_tables(delivered), **latency_tables(timed))
    write_section("notifications", text)
    print(text)


def delivery_tables(delivered: dict) -> dict[str, Any]:
    """The delivery runs' tables and verdicts, for TEMPLATE."""
    runs, threads = delivered["runs"], delivered["threads"]

    def median(key: str, field: str) -> float:
        return statistics.median(r[field] for r in runs[key])

    rows, phases, ratios = [], [], {}
    for key in sorted(runs, key=lambda k: k.split("|")[0]):  # email first, in run order
        channel, name, count, _ = key.split("|")
        ratios[key] = median(key, "rate") / median(f"{channel}|bare loop|{count}|fresh", "rate")
        arrived = sum(r["arrived"] for r in runs[key])
        sent = sum(r["delivered"] for r in runs[key])
        stored = f"{median(key, 'stored'):,.0f}" if name == "service" else ""
        rows.append(
            f"| {channel} | {name} | {count} | {stored} | {median(key, 'rate'):.1f} "
            f"| {ratios[key]:.0%} | {median(key, 'own_cpu_ms'):.1f} "
            f"| {median(key, 'db_cpu_ms'):.1f} | {arrived} of {sent} |"
        )
        if name == "service":
            spent = [[r["phases"][label] for r in runs[key]] for label in PHASES]
            cells = " | ".join("" if None in ms else f"{statistics.median(ms):.0f}" for ms in spent)
            idle = median(key, "idle_db_cpu")
            phases.append(f"| {channel} | {count} | {stored} | {cells} | {idle:.2f} |")
    headline = {c: ratios[f"{c}|service|{threads}|fresh"] for c in ("email", "webhook")}
    verdict = {c: "meets" if r >= TARGET_RATIO else "does NOT meet" for c, r in headline.items()}
    raw = [
        f"| {kind} | {r['find_one_and_update']:.0f} | {r['update_one']:.0f} "
        f"| {r['find_one + update_one']:.0f} |"
        for kind, r in delivered["raw"].items()
    ]
    return {
        "threads": threads,
        "rows": "\n".join(rows),
        "phases": "\n".join(phases),
        "raw": "\n".join(raw),
        **where_time_goes(runs, threads, delivered["raw"]),
        "email_ratio": headline["email"],
        "webhook_ratio": headline["webhook"],
        "email_verdict": verdict["email"],
        "webhook_verdict": verdict["webhook"],
        "delivery_load": delivered["load"],
    }


def where_time_goes(runs: dict, threads: int, raw: dict) -> dict[str, Any]:
    """The figures the account of where the time goes quotes, per channel ("email" and
    "webhook" in the names)."""

    def phase(key: str, label: str) -> float:
        return statistics.median(r["phases"][label] or 0.0 for r in runs[key])

    def rate(key: str) -> float:
        return statistics.median(r["rate"] for r in runs[key])

    found: dict[str, Any] = {}
    for channel in ("email", "webhook"):
        one, many = f"{channel}|service|1|fresh", f"{channel}|service|{threads}|fresh"
        warm = f"{channel}|service|{threads}|warmed"
        total = phase(one, "claim") + phase(one, "send") + phase(one, "record")
        at_db = phase(one, "claim") + phase(one, "record") + phase(one, "lookup")
        found |= {
            f"{channel}_db_share": at_db / total,
            f"{channel}_send_ms": phase(one, "send") - phase(one, "lookup"),
            f"{channel}_many_vs_one": rate(many) / rate(one),
            f"{channel}_db_cpu_one": statistics.median(r["db_cpu_ms"] for r in runs[one]),
            f"{channel}_db_cpu_many": statistics.median(r["db_cpu_ms"] for r in runs[many]),
            f"{channel}_warmed_slower": rate(many) / rate(warm),
            f"{channel}_warmed_rate": rate(warm),
            f"{channel}_warmed_claim_s": phase(warm, "claim") / 1000,
        }
    fresh, warmed = raw["fresh"], raw["warmed"]
    found["claim_gain"] = warmed["find_one + update_one"] / warmed["find_one_and_update"]
    found["alternative_fall"] = fresh["find_one + update_one"] / warmed["find_one + update_one"]
    found["fau_fall"] = fresh["find_one_and_update"] / warmed["find_one_and_update"]
    found["warmed_rate"] = min(found["email_warmed_rate"], found["webhook_warmed_rate"])
    idle = {kind: f"webhook|service|{threads}|{kind}" for kind in ("fresh", "warmed")}
    found["idle_fresh"] = statistics.median(r["idle_db_cpu"] for r in runs[idle["fresh"]])
    found["idle_warm"] = statistics.median(r["idle_db_cpu"] for r in runs[idle["warmed"]])
    found["warmed_stored"] = statistics.median(r["stored"] for r in runs[idle["warmed"]])
    found["needed"] = 3 * LATENCY_RATE  # each referral: a webhook and two emails
    return found


def latency_tables(timed: dict) -> dict[str, Any]:
    """The time to webhook's figures, stages and verdict, for TEMPLATE."""
    stages = [
        f"| {STAGES[name]} | {p50:.2f} | {p95:.2f} |"
        for name, (p50, p95) in timed["stages"].items()
    ]
    width = LATENCY_SECONDS / WINDOWS
    windows = [
        f"| {n * width:.0f}-{(n + 1) * width:.0f} s | {p50:.2f} | {p95:.2f} |"
        for n, (p50, p95) in enumerate(timed["windows"])
    ]
    return {
        **{k: v for k, v in timed.items() if k not in ("stages", "post_p95", "windows", "busy")},
        "stages": "\n".join(stages),
        "windows": "\n".join(windows),
        "db_busy": timed["busy"]["database"],
        "worker_busy": timed["busy"]["notifications-worker"],
        "first_p95": timed["windows"][0][1],
        "last_p95": timed["windows"][-1][1],
        "post_p95_ms": 1000 * timed["post_p95"],
        "latency_verdict": "meets" if timed["p95"] < TARGET_P95 else "does NOT meet",
    }


STAGES = {
    "published": "POST to ReferralReceived on the broker (intake's relay)",
    "recorded": "to the webhook message recorded (notifications' consumer)",
    "claimed": "to its claim by a sending thread",
    "arrived": "to its arrival at the receiver (send)",
}

TEMPLATE = """## Notifications: delivery rate and time to webhook

Measured by `bench/notifications.py` on {date}.

**Delivery.** {messages} messages of one channel are recorded as notifications' handler
records them (the referrer's "received" email, or a partner's signed webhook, each of a
referral of its own), then delivered by the real Sender (claim, send, record) with
{threads} sending threads (`NOTIFICATION_SENDING_THREADS`, as the worker runs them) and
with one. Against it, in the same run and to the same servers, a bare loop sends the same
messages with one thread and with {threads}: the same email bytes (`EmailChannel.compose`)
with smtplib, one connection a thread as the channel keeps, or the same signed body
(`standardwebhooks`) with one urllib3 pool; no database, no address check, no records.
The mail server is MailDev (`deploy/local/mail`); the webhook receiver is
tests/webhook_receiver.py, in a process of its own. "Warmed": the store also holds
{warmed:,} messages delivered earlier, as a service that has run a few weeks does. Medians
of {rounds} rounds (warmed: one run of {warmed_messages}); "vs bare" is against the bare
loop with as many threads (which reads no store, so warmed runs are set against it too);
"stored": the messages in the store; CPU is per message, of the sending process ("own")
and of the database server.

| channel | sender | threads | stored | messages/s | vs bare | own CPU ms | db CPU ms | arrived |
|---|---|---|---|---|---|---|---|---|
{rows}

With {threads} threads on a fresh store the Sender delivers email at **{email_ratio:.0%}** and
webhooks at **{webhook_ratio:.0%}** of the bare loop's rate: email {email_verdict} and
webhooks {webhook_verdict} the target of 70%.

Where a sending thread's time goes, ms per message delivered (with {threads} threads they
wait for each other at the database); "compose" (email) and "lookup" (the endpoint, for a
webhook) are within "send", "release" (of the lane's next message) within "record".
"idle db" is the database's CPU, in seconds a second, while the same threads then poll
with nothing to send.

| channel | threads | stored | claim | send | compose | lookup | record | release | idle db |
|---|---|---|---|---|---|---|---|---|---|
{phases}

The same database server's own rates, one client, a second: a `find_one_and_update` (the
claim's kind of write) and an `update_one`, each by `_id`; and a claim done otherwise,
a `find_one` of the next due message by the `(status, next_attempt_at)` index then an
`update_one` conditional on its status, on the last fresh store and the last warmed one.

| store | `find_one_and_update` | `update_one` | `find_one` + `update_one` |
|---|---|---|---|
{raw}

**Where the time goes.** The Sender is bound by the database, not by sending. With one
thread, {email_db_share:.0%} of an email's time and {webhook_db_share:.0%} of a webhook's is
spent at the database: the claim (a `find_one` of the next due message by the
`(status, next_attempt_at)` index, then an `update_one` that holds only while it is still
queued), the record (an
`update_one` with the attempt and the NotificationSent event, then the release of the
lane's next message: two `find_one`s), and for a webhook the endpoint's `find_one`. The
send itself takes {email_send_ms:.0f} ms an email (composing included) and
{webhook_send_ms:.0f} ms a webhook (signing and the address check included). Three things
make it slower than it need be, on this server above all:

1. **The claim used to read every message ever stored** (fixed, 2026-11-24). It was one
   `find_one_and_update` whose `$or` also took back expired leases: SecantusDB planned it
   as a collection scan and a sort in memory, and its `findAndModify` reads the whole
   collection even by `_id` (in the table above its rate falls as the store fills, while
   `update_one`'s does not). With 2,030 messages stored, delivery fell to about 2 a
   second, below what 2 referrals a second make, and the time to webhook reached p95
   3.65 s. The claim is now the `find_one` and conditional `update_one` above, and the
   sweep takes back expired leases. On the warmed store a claim now takes
   {email_warmed_claim_s:.1f} s (email) and {webhook_warmed_claim_s:.1f} s (webhook), and
   delivery is {email_warmed_slower:.1f}x and {webhook_warmed_slower:.1f}x as slow as on a
   fresh one.
2. **More sending threads are slower.** SecantusDB writes to a collection one statement
   at a time (a lock per collection): {threads} threads' claims, all for the head of
   the same order, queue for the lock and find the message another thread took.
   With {threads} threads the database spent {email_db_cpu_many:.0f} ms of CPU an email
   ({email_db_cpu_one:.0f} with one thread) and {webhook_db_cpu_many:.0f} ms a webhook
   ({webhook_db_cpu_one:.0f}), and delivered {email_many_vs_one:.0%} and
   {webhook_many_vs_one:.0%} of one thread's rate.
3. **Idle threads poll.** Each sending thread claims every 0.1 s when nothing is due
   (`Sender.run`): with {threads} threads, 40 claims a second. On the warmed store that
   alone keeps the database server busy (the "idle db" column), and every service sharing
   it, as under `make run`, feels it.

What would close the gap (the indexed claim is done: {claim_gain:.1f}x the rate of a
`findAndModify` on the warmed store, and {alternative_fall:.1f}x as slow there as on the
fresh one, where `findAndModify` was {fau_fall:.1f}x as slow): one claimer handing
messages to the sending threads (or several claimed at once) so that threads do not
collide; and senders woken when a message is recorded, or backing off when idle, rather
than polling. On MongoDB the claim's `$or` can use the `(status, next_attempt_at)` index
and a `findAndModify` is cheap, so the claim would not grow with the store; but every
message still costs four or five round trips with journaled majority writes, against a
bare loop that sends a webhook in about a millisecond: 70% of the bare webhook rate needs
claims and records in batches on any server.

**Time to webhook.** The whole stack as `make run` starts it; a partner with one endpoint
(for `referral.received`) and a contact address, so each referral also makes two emails
(received, accepted) for the same sending threads. Referrals posted at {rate:g} a second
for {seconds:.0f} s (an open loop) after a 5 s warm-up; each one's time runs from sending
its POST to its webhook's arrival at the receiver.

| offered | created | webhooks arrived | p50 s | p95 s | max s | POST p95 ms |
|---|---|---|---|---|---|---|
| {offered} | {created} | {arrived} | {p50:.2f} | {p95:.2f} | {max:.2f} | {post_p95_ms:.0f} |

It {latency_verdict} the target (p95 under 2 s). By when the POST was sent:

| POSTs sent | p50 s | p95 s |
|---|---|---|
{windows}

Each stage, p50 and p95 in seconds, from the record's timestamp on the broker and the
webhook message's own record:

| stage | p50 | p95 |
|---|---|---|
{stages}

During the run the database server used {db_busy:.2f} CPU-seconds a second (a Python
process: about one core at most) and the notifications worker {worker_busy:.2f}; the
notifications store held {stored:,} messages at the end.

Most of the tail comes before the message exists. Notifications' consumer records a
referral's messages in one transaction with its view (two `find_one_and_update`s on its
referrals view, which on this server read the whole view as the claim reads every message;
the partner and its endpoints read; a `find_one` and an upsert per message), behind the
casework events it also consumes; and it shares the one database server with the sending
threads, whose every claim reads every message stored so far, 40 a second from idle
threads alone. As the store fills, all of it costs the database more (idle sending
threads alone took {idle_fresh:.2f} CPU-seconds a second of it with {messages} messages
stored, {idle_warm:.2f} with {warmed_stored:,}), and by thirds of the run the p95 went from
{first_p95:.2f} s to {last_p95:.2f} s. Then a message waits for a sending
thread's poll (0.1 s), behind the two emails each referral also makes (claims go by
`next_attempt_at`), and is sent. On the warmed store the Sender delivered
{warmed_rate:.1f} messages a second, fewer than the {needed:.0f} that {rate:g} referrals a
second make: there the queue, and the time to webhook, would grow without bound. The
claim's fixes above would close most of this gap too, with the view kept by `update_one`
(upsert) and `find_one` rather than `find_one_and_update`. The figures also move with
other jobs' load on this shared two-core machine.

The machine's load average (5 minutes) was {delivery_load:.1f} after the delivery runs and
{load:.1f} after the time to webhook: other jobs shared its two cores.
"""


if __name__ == "__main__":
    main()
