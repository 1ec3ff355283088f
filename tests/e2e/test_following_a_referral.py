"""An operator follows one referral by its trace id, and sees that every worker is looping,
on the stack as `make run` starts it (every process's log lines go to the stack's log)."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.background import wait_for
from tests.factories import referral

pytestmark = pytest.mark.e2e

TRACE_ID = "5c1c63b2e9a04f6f8d1b2a3c4d5e6f70"
TRACEPARENT = f"00-{TRACE_ID}-a1b2c3d4e5f60718-01"


def log_lines(stack, containing: str) -> list[dict]:
    found = []
    for line in stack.log_path.read_text(errors="replace").splitlines():
        if containing not in line:
            continue
        try:
            found.append(json.loads(line))
        except ValueError:
            continue  # supervisord's own lines, or two processes' lines run together
    return found


def lines_of_trace(stack, trace_id: str) -> list[dict]:
    return [line for line in log_lines(stack, trace_id) if line.get("trace_id") == trace_id]


def test_one_referrals_trace_id_is_in_the_log_lines_of_every_process_it_passes(stack):
    partner = {"Authorization": f"Bearer {stack.new_partner_key('Routes out of Prison')}"}
    # A manager notifications knows of, to be told of the new referral by email.
    _, manager = stack.new_staff("morgan", "manager", email="morgan.manager@example.org")
    assert wait_for(
        lambda: any(
            line.get("service") == "notifications" and line.get("type") == "StaffChanged"
            for line in log_lines(stack, "event processed")
        ),
        timeout=60,
    )
    posted = requests.post(
        f"{stack.url('referral')}/v1/referrals",
        json=referral(3),
        headers=partner | {"traceparent": TRACEPARENT},
        timeout=10,
    )
    assert posted.status_code == 201
    referral_id = posted.json()["id"]

    # (service, logger, message, event type): who wrote each line, and about what
    expected = {
        ("referral", "familyties.http", "request answered", None),  # intake's web process
        ("referral", "backbone.relay", "event published", "ReferralReceived"),  # its relay
        ("casework", "backbone.consumer", "event processed", "ReferralReceived"),
        ("casework", "backbone.relay", "event published", "CaseOpened"),  # the case it opened
        ("referral", "backbone.consumer", "event processed", "CaseOpened"),  # back to intake
        ("notifications", "backbone.consumer", "event processed", "ReferralReceived"),
        ("reporting", "backbone.consumer", "event processed", "ReferralReceived"),
        ("notifications", "services.notifications.delivery", "message delivered", None),
        ("notifications", "backbone.relay", "event published", "NotificationSent"),
    }

    def seen() -> set[tuple]:
        return {
            (line["service"], line["logger"], line["message"], line.get("type"))
            for line in lines_of_trace(stack, TRACE_ID)
        }

    assert wait_for(lambda: expected <= seen(), timeout=90), (
        f"missing {expected - seen()}; see {stack.log_path}"
    )
    about = {
        line["type"]: line["subject"]
        for line in lines_of_trace(stack, TRACE_ID)
        if line.get("type") in ("ReferralReceived", "CaseOpened")
    }
    assert about["ReferralReceived"] == referral_id
    [case] = requests.get(f"{stack.url('casework')}/v1/cases", headers=manager, timeout=10).json()
    assert (about["CaseOpened"], case["referral_id"]) == (case["id"], referral_id)


def metric_lines(stack, service: str, name: str, worker: bool = False) -> list[str]:
    url = stack.worker_metrics_url(service) if worker else f"{stack.url(service)}/metrics"
    text = requests.get(url, timeout=10).text
    return [line for line in text.splitlines() if line.startswith(name + "{")]


def test_each_services_metrics_show_its_worker_tasks_looping_and_its_own_figures(stack):
    loops = "familyties_worker_last_loop_timestamp_seconds"
    now = time.time()

    def recent_tasks(service: str) -> set[str]:
        return {
            line.split('task="')[1].split('"')[0]
            for line in metric_lines(stack, service, loops, worker=True)
            if float(line.rsplit(" ", 1)[1]) > now
        }

    # Each worker's own /metrics shows its tasks.
    assert wait_for(
        lambda: (
            {"consumer", "outbox-relay", "topic-keeper", "event-log-count"}
            <= recent_tasks("casework")
        ),
        timeout=60,
    ), metric_lines(stack, "casework", loops, worker=True)
    assert wait_for(
        lambda: {"consumer", "daily", "sender-1", "outbox-relay"} <= recent_tasks("notifications"),
        timeout=60,
    ), metric_lines(stack, "notifications", loops, worker=True)

    teams = metric_lines(stack, "referral", "familyties_referrals_received_this_month")
    assert len(teams) == 5
    assert metric_lines(stack, "casework", "familyties_cases_waiting_for_coordinator") == []
    text = requests.get(f"{stack.url('casework')}/metrics", timeout=10).text
    assert "\nfamilyties_cases_waiting_for_coordinator " in text
    assert "\nfamilyties_cases_waiting_first_contact_too_long " in text
    failed = metric_lines(stack, "notifications", "familyties_notifications_failed_last_day")
    assert len(failed) == 2
