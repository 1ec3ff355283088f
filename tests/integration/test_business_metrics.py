"""The business gauges on each service's /metrics, read from its own database at scrape
time: referrals this month by team, cases waiting, notifications failed."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta

from backbone import mongo
from backbone.clock import now, start_of_month, today
from services.notifications.app import create_app as create_notifications_app
from services.reporting.app import create_app as create_reporting_app
from services.reporting.repository import BulkApplier, ReportingView
from tests.factories import referral
from tests.integration.conftest import staff_key
from tests.integration.test_casework_api import a_referral, deliver
from tests.integration.test_health_and_metrics import metric
from tests.unit.reporting_events import case_event, contact, referral_received

WAITING = "familyties_cases_waiting_for_coordinator"
TOO_LONG = "familyties_cases_waiting_first_contact_too_long"


def test_referrals_received_this_month_by_referring_team(client, auth, referral_db):
    def this_month(team: str) -> float:
        text = client.get("/metrics").get_data(as_text=True)
        return metric(text, "familyties_referrals_received_this_month", team=team)

    for n, team in enumerate(["GLASGOW", "GLASGOW", "LANARKSHIRE", "OTHER"], start=1):
        response = client.post("/v1/referrals", json=referral(n, referrer__team=team), headers=auth)
        assert response.status_code == 201
    # One received in the last instant of last month does not count.
    last_month = start_of_month(now()) - timedelta(milliseconds=1)
    referral_db.referrals.update_one(
        {"referral.referrer.team": "OTHER"}, {"$set": {"received_at": last_month}}
    )

    assert [this_month(t) for t in ("GLASGOW", "LANARKSHIRE", "NORTH_STRATHCLYDE", "OTHER")] == [
        2,
        1,
        0,
        0,
    ]
    text = client.get("/metrics").get_data(as_text=True)
    assert text.count("familyties_referrals_received_this_month{") == 5  # every team, always


def test_referrals_withdrawn_this_month_by_referring_team(client, auth, referral_db):
    def withdrawn(team: str) -> float:
        text = client.get("/metrics").get_data(as_text=True)
        return metric(text, "familyties_referrals_withdrawn_this_month", team=team)

    ids = []
    for n, team in enumerate(["GLASGOW", "GLASGOW", "LANARKSHIRE"], start=1):
        response = client.post("/v1/referrals", json=referral(n, referrer__team=team), headers=auth)
        ids.append(response.get_json()["id"])
    assert withdrawn("GLASGOW") == 0
    for referral_id in ids:
        answer = client.post(
            f"/v1/referrals/{referral_id}/withdrawal",
            json={"reason": "family_changed_mind"},
            headers=auth,
        )
        assert answer.status_code == 200
    # One withdrawn last month does not count.
    last_month = start_of_month(now()) - timedelta(milliseconds=1)
    referral_db.referrals.update_one({"_id": ids[2]}, {"$set": {"withdrawn_at": last_month}})
    assert [withdrawn(t) for t in ("GLASGOW", "LANARKSHIRE", "OTHER")] == [2, 0, 0]


def test_cases_waiting_for_a_coordinator_and_for_a_first_contact_too_long(casework_app):
    casework = casework_app.extensions["casework"]
    client = casework_app.test_client()
    manager, _ = staff_key(casework_app, "morgan.manager", "manager")
    casey, casey_auth = staff_key(casework_app, "casey.coordinator", "coordinator")

    def gauges() -> tuple[float, float]:
        text = client.get("/metrics").get_data(as_text=True)
        return metric(text, WAITING), metric(text, TOO_LONG)

    assert gauges() == (0, 0)
    # Two weeks ago is more than five working days ago, whatever today is; yesterday is not.
    old = a_referral(received_at=(now() - timedelta(days=14)).isoformat())
    for received in (old, a_referral()):
        deliver(casework.cases, "ReferralReceived", received["referral_id"], received)
    assert gauges() == (2, 1)

    case = casework.cases.cases.find_one({"referral_id": old["referral_id"]})
    casework.allocate(manager, case["_id"], casey["_id"])
    assert gauges() == (1, 1)  # allocated, and still no contact
    contact = {
        "method": "telephone",
        "happened_at": (now() - timedelta(hours=1)).isoformat(),
        "duration_minutes": 20,
        "notes": "First call.",
    }
    answered = client.post(f"/v1/cases/{case['_id']}/contacts", json=contact, headers=casey_auth)
    assert answered.status_code == 200, answered.get_json()
    assert gauges() == (1, 0)


def test_notifications_failed_in_the_last_day_by_channel(settings):
    app = create_notifications_app(settings)
    messages = app.extensions["store"].messages

    def failed(channel: str) -> float:
        text = app.test_client().get("/metrics").get_data(as_text=True)
        return metric(text, "familyties_notifications_failed_last_day", channel=channel)

    assert (failed("email"), failed("webhook")) == (0, 0)
    at = now()
    messages.insert_many(
        {"_id": str(uuid.uuid4()), "channel": channel, "status": status, "created_at": made}
        for channel, status, made in [
            ("email", "failed", at - timedelta(hours=2)),
            ("email", "failed", at - timedelta(hours=23)),
            ("email", "failed", at - timedelta(hours=25)),  # before the last day
            ("email", "delivered", at),
            ("webhook", "failed", at),
            ("webhook", "queued", at),
        ]
    )
    assert (failed("email"), failed("webhook")) == (2, 1)


def test_working_days_to_first_contact_of_referrals_of_the_last_three_months(settings):
    app = create_reporting_app(settings)
    view = ReportingView(mongo.database(settings, "reporting"))

    def waited(quantile: str) -> float:
        text = app.test_client().get("/metrics").get_data(as_text=True)
        return metric(text, "familyties_first_contact_working_days", quantile=quantile)

    assert math.isnan(waited("0.5"))  # nobody contacted yet: no value, not 0 days
    monday = today() - timedelta(days=today().weekday() + 28)  # a Monday four weeks ago
    applier = BulkApplier(view.current())
    for number, days in enumerate([1, 2, 2, 3, 4, 4, 4, 4, 4, 9]):  # working days
        referral_id = f"r-contact-{number}"
        contacted = monday + timedelta(days=days + 2 * (days // 5))  # weekends skipped
        applier.add([referral_received(referral_id, referred_on=monday)])
        opened = case_event(
            "CaseOpened",
            referral_id,
            monday,
            partner_id="p",
            referring_team="GLASGOW",
            local_authority="GLASGOW_CITY",
            needs=["housing"],
        )
        applier.add([opened, contact(referral_id, contacted)])
    applier.flush()
    assert (waited("0.5"), waited("0.9")) == (4, 4)
