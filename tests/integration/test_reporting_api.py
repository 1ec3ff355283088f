"""Reporting's JSON API: who may read what, filters, and ranges asked for wrongly."""

from __future__ import annotations

from datetime import date

import pytest

from backbone import mongo
from services.reporting.app import create_app
from services.reporting.repository import BulkApplier
from services.reporting.viewers import Viewers
from tests.unit.reporting_events import referral_received, referral_withdrawn

SEED_YEAR = {"from": "2008-10", "to": "2009-09"}


@pytest.fixture
def client(settings):
    app = create_app(settings)
    applier = BulkApplier(app.extensions["reports"].view.current())
    glasgow = referral_received("r1", team="GLASGOW", referred_on=date(2009, 1, 5))
    fife = referral_received("r2", "OTHER", date(2009, 2, 5), local_authority="FIFE")
    withdrawn = referral_withdrawn("r1", date(2009, 1, 9), reason="family_changed_mind")
    applier.add([glasgow, fife, withdrawn])
    applier.flush()
    return app.test_client()


@pytest.fixture
def keys(settings) -> dict[str, dict[str, str]]:
    viewers = Viewers(mongo.database(settings, "reporting"))
    found = {}
    for role in ("manager", "funder"):
        _, key = viewers.create_account(role, role.title(), role, "a long password")
        found[role] = {"Authorization": f"Bearer {key}"}
    return found


def test_a_report_needs_a_viewers_key(client):
    answer = client.get("/v1/reports/referrals-by-month", query_string=SEED_YEAR)
    assert answer.status_code == 401
    assert answer.content_type == "application/problem+json"


def test_a_funder_reads_the_reports_but_not_caseloads(client, keys):
    table = client.get(
        "/v1/reports/referrals-by-month", query_string=SEED_YEAR, headers=keys["funder"]
    )
    assert table.status_code == 200
    assert table.json["total"] == 2
    assert client.get("/v1/reports/caseloads", headers=keys["funder"]).status_code == 403
    assert client.get("/v1/reports/caseloads", headers=keys["manager"]).status_code == 200


def test_filters_narrow_the_referrals_counted(client, keys):
    only_fife = {**SEED_YEAR, "local_authority": "FIFE"}
    headline = client.get("/v1/reports/headline", query_string=only_fife, headers=keys["manager"])
    assert headline.json["referrals"] == 1
    assert headline.json["period"]["local_authority"] == "FIFE"


def test_withdrawals_are_counted_by_month_team_and_reason(client, keys):
    table = client.get(
        "/v1/reports/withdrawals-by-month", query_string=SEED_YEAR, headers=keys["funder"]
    )
    assert table.status_code == 200
    glasgow = next(row for row in table.json["teams"] if row["team"] == "GLASGOW")
    assert (glasgow["counts"][3], glasgow["total"], table.json["total"]) == (1, 1, 1)  # January
    headline = client.get("/v1/reports/headline", query_string=SEED_YEAR, headers=keys["funder"])
    assert headline.json["withdrawn"] == 1
    assert headline.json["withdrawal_reasons"] == {
        "family_changed_mind": 1,
        "sent_by_mistake": 0,
        "other": 0,
    }
    assert headline.json["referrals"] == 2 and headline.json["open_now"] == 1


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2009-13", "to": "2009-12"}, "from"),
        ({"from": "2009-05", "to": "2009-01"}, "to"),
        ({"from": "2009-05"}, "to"),
        ({"from": "1999-01", "to": "2012-01"}, "to"),  # more than 120 months
        ({**SEED_YEAR, "team": "ATLANTIS"}, "team"),
    ],
)
def test_a_range_or_filter_asked_for_wrongly_is_refused_naming_the_field(
    client, keys, query, field
):
    answer = client.get("/v1/reports/needs", query_string=query, headers=keys["manager"])
    assert answer.status_code == 422
    assert any(error["pointer"] == f"/{field}" for error in answer.json["errors"]), answer.json
