"""Reporting stays exact under faults, and keeps no personal data: every event delivered
twice, the reporting worker killed mid-stream, the broker paused; a rebuild by replay
gives the same reports; and nothing a partner or coordinator wrote about a family is in
reporting's database or its log lines."""

from __future__ import annotations

import json
import random
import subprocess
import time
from datetime import date

import pytest
from bson import json_util
from kafka import KafkaProducer
from pymongo import MongoClient

from backbone.consumer import dead_letter_topic
from backbone.events.catalogue import topic_of
from services.reporting import GROUP
from tests.background import wait_for
from tests.e2e.reporting_client import Reporting
from tests.e2e.stack import BIN
from tests.e2e.test_reporting_end_to_end import NEEDS, TEAMS, expected, observed, work
from tests.factories import _REFERRAL
from tests.kafka_reader import read_topic

pytestmark = pytest.mark.e2e

YEAR = 2011
MONTHS = [f"{YEAR}-{m:02d}" for m in range(1, 13)]
PERIOD = {"from": MONTHS[0], "to": MONTHS[-1]}


@pytest.fixture(scope="module")
def reporting(stack) -> Reporting:
    return Reporting(stack)


@pytest.fixture(scope="module")
def worked_under_faults(reporting):
    """30 referrals and their cases, with the reporting worker killed after the 10th, the
    broker paused after the 20th, and then every event of intake and casework published
    again. Answers what the figures must be."""
    rng = random.Random(11)
    referrals = []
    for n in range(30):
        spec = {
            "team": rng.choice(TEAMS),
            "month": rng.randint(1, 12),
            "children": rng.randint(0, 2),
            "needs": rng.sample(NEEDS, rng.randint(1, 3)),
            "worked": rng.choice(["untouched", "allocated", "contacted", "declined", "closed"]),
            "answered": rng.randint(0, 3),
        }
        referrals.append(spec)
        rid = reporting.refer(
            5000 + n,
            spec["team"],
            date(YEAR, spec["month"], 10),
            needs=spec["needs"],
            children__number=spec["children"],
            children__ages=[],
        )
        work(reporting, rid, spec)
        if n == 10:
            reporting.stack.kill("reporting-worker")
        if n == 20:
            reporting.stack.pause("broker")
            time.sleep(5)
            reporting.stack.resume("broker")
    poison = KafkaProducer(bootstrap_servers=reporting.stack.broker)
    poison.send(topic_of("casework"), key=b"poison", value=b"{not an event").get(timeout=30)
    poison.close()
    for service in ("referral", "casework"):  # every event delivered a second time
        reporting.stack.familyties("events", "republish", service)
    return expected(referrals, MONTHS), len(referrals)


def figures(reporting: Reporting) -> dict:
    return {
        name: reporting.report(name, **PERIOD)
        for name in ("referrals-by-month", "needs", "headline")
    }


def test_the_reports_are_exact_after_redelivery_a_killed_worker_and_a_paused_broker(
    reporting, worked_under_faults
):
    want, _ = worked_under_faults
    assert wait_for(lambda: observed(reporting, PERIOD) == want, timeout=180)
    time.sleep(10)  # the republished copies arrive: they must change nothing
    assert observed(reporting, PERIOD) == want


def test_a_poison_event_goes_to_reportings_dead_letter_topic(reporting, worked_under_faults):
    dead = read_topic(
        reporting.stack.broker, dead_letter_topic(GROUP), lambda found: found, timeout=60
    )
    assert [record.key for record in dead] == [b"poison"]
    assert dict(dead[0].headers)["familyties-original-topic"] == topic_of("casework").encode()


def test_a_rebuild_by_replay_gives_the_same_reports(reporting, worked_under_faults):
    before = figures(reporting)
    rebuilt = subprocess.run(
        [BIN / "familyties", "reporting", "rebuild"],
        env=reporting.stack.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "reports now use the new view" in rebuilt.stdout
    assert figures(reporting) == before


def test_reporting_keeps_no_personal_data_in_its_database_or_its_log(
    reporting, worked_under_faults
):
    client = MongoClient(reporting.stack.env["MONGODB_URI"])
    db = client["familyties_reporting"]
    held = json_util.dumps({name: list(db[name].find()) for name in db.list_collection_names()})
    logged = "\n".join(
        line
        for line in reporting.stack.log_path.read_text(errors="replace").splitlines()
        if '"service": "reporting"' in line or '"service":"reporting"' in line
    )
    family = _REFERRAL["family_member"]
    posted = [
        "Jordan Example",  # the family member's name
        family["date_of_birth"],
        family["contact"]["phone"],
        "0141 496 05",  # the phone numbers of the numbered families
        family["contact"]["postcode"],
        family["safe_contact_notes"],
        _REFERRAL["reason"],
        _REFERRAL["referrer"]["name"],
        "Synthetic notes that reporting must never hold.",
        "Synthetic reason.",
    ]
    assert held and logged  # both were read
    for words in posted:
        assert words not in held, words
        assert words not in logged, words
    assert json.loads(held)  # the dump is whole
