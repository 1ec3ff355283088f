"""Two casework workers in one consumer group, as docker-compose runs two of each: they
share the topics' partitions, and when one is SIGKILLed mid-stream the other takes its
partitions over. Every referral still becomes exactly one case, opened once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from pymongo import MongoClient

from backbone.settings import Settings
from services.casework import GROUP, SERVICE
from services.casework.worker import READS
from tests.background import wait_for
from tests.e2e.stack import BIN, Stack
from tests.e2e.test_faults import Burst, all_accepted, assert_one_case_each

pytestmark = pytest.mark.e2e
PARTITIONS = Settings().topic_partitions
EVERY_PARTITION = {f"{topic}/{p}" for topic in READS for p in range(PARTITIONS)}


def assignment(log: Path) -> set[str] | None:
    """The partitions of the casework group that the worker writing `log` was given last."""
    latest = None
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # not one of the services' lines
        if entry.get("message") == "partitions assigned" and entry.get("group") == GROUP:
            latest = set(entry["partitions"])
    return latest


def shared(first: set[str] | None, second: set[str] | None) -> bool:
    return bool(first and second) and not first & second and first | second == EVERY_PARTITION


@pytest.fixture
def second_worker(stack: Stack, tmp_path):
    """Another casework worker beside the stack's own, started as `make run` starts one;
    its log is apart, so each worker's partitions can be told from the other's."""
    log = tmp_path / "second-worker.log"
    metrics = stack.var_dir.resolve() / "run" / "metrics" / SERVICE
    with log.open("ab") as out:
        process = subprocess.Popen(
            [BIN / "familyties", "worker", SERVICE],
            env=stack.env | {"PROMETHEUS_MULTIPROC_DIR": str(metrics)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    yield process, log
    if process.poll() is None:
        process.kill()
    process.wait()


def test_two_workers_share_the_partitions_and_one_killed_mid_stream_loses_nothing(
    stack: Stack, second_worker
):
    manager = stack.new_staff("scale.manager", "manager")[1]
    partner = {"Authorization": f"Bearer {stack.new_partner_key('Scale-out partner')}"}
    process, second_log = second_worker

    assert wait_for(lambda: shared(assignment(stack.log_path), assignment(second_log)), 120), (
        f"the two workers did not share {sorted(EVERY_PARTITION)}: "
        f"{assignment(stack.log_path)} and {assignment(second_log)}"
    )

    burst = Burst(stack, partner, first=7000, count=50, per_second=10)
    burst.start()
    assert wait_for(lambda: len(burst.accepted) >= 15, 60), "the stream began"
    print(f"shared: {sorted(assignment(second_log))} to the worker killed")
    os.kill(process.pid, signal.SIGKILL)
    killed = time.monotonic()
    burst.join()
    assert burst.statuses == [201] * 50

    # The survivor is given every partition once the group notices (its session timeout).
    assert wait_for(lambda: assignment(stack.log_path) == EVERY_PARTITION, 120)
    taken_over = time.monotonic() - killed
    assert wait_for(lambda: all_accepted(stack, partner, burst.accepted), 120)
    accepted = time.monotonic() - killed
    print(f"partitions taken over {taken_over:.1f} s, every referral accepted {accepted:.1f} s on")
    assert_one_case_each(stack, manager, burst.accepted)
    with MongoClient(stack.env["MONGODB_URI"]) as client:
        cases = client[Settings().database_name(SERVICE)]["cases"].find(
            {"referral_id": {"$in": list(burst.accepted)}}, {"events.type": 1}
        )
        opened = [sum(e["type"] == "CaseOpened" for e in case["events"]) for case in cases]
    assert opened == [1] * len(burst.accepted), "each case opened once"
