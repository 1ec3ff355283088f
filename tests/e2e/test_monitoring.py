"""Monitoring as `make run` starts it: Prometheus scrapes every web and worker process, the
dashboards' queries answer, and faults on the real servers fire the right alert, which
Alertmanager emails to the local mail server. All read through their HTTP APIs.

The rules are deploy/prometheus/rules with every time scaled by SCALE (services/
monitoring.py): `for: 1m` is 6 s, the outbox's 5 minutes 30 s, a 15 s scrape 1.5 s.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from kafka import KafkaProducer

from backbone.events.catalogue import topic_of
from services import NAMES
from tests.background import wait_for
from tests.e2e.stack import Stack
from tests.factories import referral
from tests.mail_catcher import subject

pytestmark = pytest.mark.e2e
SCALE = 0.1
DASHBOARDS = Path(__file__).resolve().parents[2] / "deploy/grafana/dashboards"
# Grafana's window for rate(): 4 scrape intervals at least
RATE_INTERVAL = "1m"
# Panels that must show series once the stack has had some traffic and the faults below.
KEY_PANELS = {
    "Web processes",
    "Workers",
    "Readiness",
    "Requests per second",
    "95th percentile response time",
    "Responses per second by status",
    "Events published per second",
    "Outbox backlog",
    "Oldest unpublished event",
    "Events consumed per second",
    "Consumer lag",
    "Event age when processed (95th percentile)",
    "Oldest unprocessed event",
    "Dead-lettered since each worker started",
    "Oldest message waiting to be sent",
    "Time since each worker task's last loop",
    "Referrals received this month, by referring team",
    "Cases waiting for a coordinator",
    "Waiting more than 5 working days for a first contact",
    "Cases waiting",
    "Failed in the last day",
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(
        tmp_path_factory.mktemp("var"),
        tmp_path_factory.mktemp("logs") / "stack.log",
        monitoring_time_scale=SCALE,
    )
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def partner(stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.new_partner_key('Monitored partner')}"}


def query(stack: Stack, expression: str) -> dict:
    answer = requests.get(
        f"{stack.prometheus}/api/v1/query", params={"query": expression}, timeout=10
    )
    return answer.json()


def targets(stack: Stack) -> list[dict]:
    answer = requests.get(f"{stack.prometheus}/api/v1/targets", timeout=10)
    return answer.json()["data"]["activeTargets"]


def firing(stack: Stack, alertname: str, since: float, **labels: str) -> bool:
    """Whether Prometheus has `alertname` firing with `labels`, active since `since`."""
    alerts = requests.get(f"{stack.prometheus}/api/v1/alerts", timeout=10).json()
    return any(
        alert["state"] == "firing"
        and alert["labels"]["alertname"] == alertname
        and labels.items() <= alert["labels"].items()
        and _seconds(alert["activeAt"]) >= since - 2
        for alert in alerts["data"]["alerts"]
    )


def in_alertmanager(stack: Stack, alertname: str, **labels: str) -> bool:
    matchers = [f'alertname="{alertname}"', *(f'{k}="{v}"' for k, v in labels.items())]
    answer = requests.get(
        f"{stack.alertmanager}/api/v2/alerts", params={"filter": matchers}, timeout=10
    )
    return any(alert["status"]["state"] == "active" for alert in answer.json())


def emailed(stack: Stack, alertname: str, service: str, since: float) -> bool:
    """Whether Alertmanager's email of `alertname` firing for `service` has been caught."""
    return any(
        subject(email).startswith("[FIRING:")
        and f" {alertname} {service} " in subject(email)
        and _seconds(email["time"]) >= int(since) - 1
        for email in stack.mail.emails()
    )


def _seconds(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def assert_alerted(stack: Stack, alertname: str, service: str, since: float, **labels) -> None:
    """`alertname` fires for `service` in Prometheus, reaches Alertmanager, and its email the
    mail server."""
    assert wait_for(lambda: firing(stack, alertname, since, service=service, **labels), 120), (
        f"{alertname} for {service} did not fire"
    )
    assert wait_for(lambda: in_alertmanager(stack, alertname, service=service), 30)
    assert wait_for(lambda: emailed(stack, alertname, service, since), 60), (
        f"no email of {alertname} for {service}; caught: "
        f"{[subject(email) for email in stack.mail.emails()]}"
    )


def listening_addresses(port: int) -> set[str]:
    """The local addresses a TCP socket listens on at `port` (/proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.rpartition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(_address(address))
    return found


def _address(hex_address: str) -> str:
    if len(hex_address) == 8:  # IPv4, little-endian
        return ".".join(str(int(hex_address[i : i + 2], 16)) for i in (6, 4, 2, 0))
    return "::" if int(hex_address, 16) == 0 else hex_address


def test_prometheus_and_alertmanager_start_with_the_stack_on_this_machine_only(stack):
    printed = stack.log_path.read_text()
    assert f"  prometheus     {stack.prometheus}  (" in printed
    assert f"  alertmanager   {stack.alertmanager}  (" in printed
    for url in (stack.prometheus, stack.alertmanager):
        assert wait_for(lambda url=url: _ok(f"{url}/-/ready"), 60), url
    for port in stack.monitoring_ports.values():
        assert listening_addresses(port) == {"127.0.0.1"}


def test_every_worker_serves_its_metrics_on_this_machine_only(stack):
    for port in stack.worker_metrics_ports.values():
        assert listening_addresses(port) == {"127.0.0.1"}


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).ok
    except requests.RequestException:
        return False


def test_every_web_and_worker_process_is_a_target_up_in_prometheus(stack):
    expected = {(job, name) for job in ("web", "worker") for name in NAMES}
    expected |= {("readiness", f"{name} {d}") for name in NAMES for d in ("database", "broker")}

    def up() -> set[tuple[str, str]]:
        found = set()
        for target in targets(stack):
            labels = target["labels"]
            name = " ".join(filter(None, [labels["service"], labels.get("dependency")]))
            if target["health"] == "up":
                found.add((labels["job"], name))
        return found

    assert wait_for(lambda: up() >= expected, 90), f"not up: {expected - up()}"


def test_a_stopped_worker_fires_worker_down_and_its_email_arrives(stack):
    stopped = time.time()
    stack.control("stop", "workers:directory-worker")
    try:
        assert_alerted(stack, "WorkerDown", "directory", stopped, job="worker")
        assert not firing(stack, "ServiceDown", stopped, service="directory")
    finally:
        stack.control("start", "workers:directory-worker")
    assert wait_for(lambda: not firing(stack, "WorkerDown", stopped, service="directory"), 60)


def test_a_paused_broker_fires_the_outbox_alerts_and_their_emails_arrive(stack, partner):
    paused = time.time()
    posting = threading.Event()

    def post_referrals() -> None:  # intake keeps taking referrals: its outbox grows
        n = 100
        while not posting.wait(1):
            requests.post(
                f"{stack.url('referral')}/v1/referrals",
                json=referral(n),
                headers=partner,
                timeout=10,
            )
            n += 1

    stack.pause("broker")
    poster = threading.Thread(target=post_referrals)
    poster.start()
    try:
        assert_alerted(stack, "OutboxEventTooOld", "referral", paused)
        assert_alerted(stack, "OutboxBacklogGrowing", "referral", paused)
        assert firing(stack, "BrokerUnreachable", paused, service="referral")
    finally:
        posting.set()
        poster.join()
        stack.resume("broker")
    drained = 'max(familyties_outbox_backlog_events{service="referral"})'
    assert wait_for(lambda: _value(query(stack, drained)) == 0, 120), "the outbox drains"


def _value(answer: dict) -> float | None:
    result = answer["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def test_a_poison_event_fires_events_dead_lettered_and_its_email_arrives(stack):
    sent = time.time()
    producer = KafkaProducer(bootstrap_servers=stack.broker)
    producer.send(topic_of("casework"), key=b"poison", value=b"{not an event").get(timeout=30)
    producer.close()
    # every group reading casework's events sets it aside
    assert_alerted(stack, "EventsDeadLettered", "reporting", sent, group="reporting")


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(dashboard file, panel title, PromQL) of every panel's every query."""
    found = []
    for path in sorted(DASHBOARDS.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                expression = target["expr"].replace("$__rate_interval", RATE_INTERVAL)
                found.append((path.name, panel["title"], expression))
    return found


def test_every_dashboard_query_evaluates_and_the_key_panels_show_series(stack):
    queries = dashboard_queries()
    assert {title for _, title, _ in queries} >= KEY_PANELS
    for dashboard, title, expression in queries:
        answer = query(stack, expression)
        assert answer["status"] == "success", (dashboard, title, answer)

    def empty() -> set[str]:
        return {
            title
            for _, title, expression in queries
            if title in KEY_PANELS and not query(stack, expression)["data"]["result"]
        }

    assert wait_for(lambda: not empty(), 60), f"no series: {empty()}"
