"""/healthz, /readyz and /metrics of a service's web process."""

from __future__ import annotations

import dataclasses
import re

from services.notifications.app import create_app as create_notifications_app
from services.referral.app import create_app
from tests import servers
from tests.factories import referral
from tests.servers import free_port


def metric(text: str, name: str, **labels) -> float:
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_ready_when_database_and_broker_answer(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}


def test_intake_stays_ready_but_degraded_without_the_broker(settings):
    """The outbox lets intake accept referrals with the broker away; readiness says so."""
    away = dataclasses.replace(settings, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    response = create_app(away).test_client().get("/readyz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["checks"]["broker"].startswith("unavailable")


def test_not_ready_once_its_database_has_gone(settings, tmp_path):
    """A service cannot answer anything without its database: started with one of its
    own, which then stops."""
    with servers.database(tmp_path / "db", tmp_path) as (uri, _):
        app = create_notifications_app(dataclasses.replace(settings, mongodb_uri=uri))
        assert app.test_client().get("/readyz").status_code == 200
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"].startswith("unavailable")


def test_metrics_count_requests_by_route_and_status_and_show_the_backlog(client, auth):
    before = client.get("/metrics").get_data(as_text=True)
    client.post("/v1/referrals", json=referral(), headers=auth)
    client.get("/v1/referrals/nope", headers=auth)
    after = client.get("/metrics").get_data(as_text=True)

    created = {"method": "POST", "route": "/v1/referrals", "status": "201"}
    missing = {"method": "GET", "route": "/v1/referrals/<referral_id>", "status": "404"}
    name = "familyties_http_requests_total"
    assert metric(after, name, **created) == metric(before, name, **created) + 1
    assert metric(after, name, **missing) == metric(before, name, **missing) + 1
    latency = "familyties_http_request_duration_seconds_count"
    assert metric(after, latency, route="/v1/referrals") > metric(
        before, latency, route="/v1/referrals"
    )
    # The referral's event waits, beside the partner's announcement (PartnerChanged).
    backlog = "familyties_outbox_backlog_events"
    assert metric(before, backlog) == 1 and metric(after, backlog) == 2
    assert re.search(r"^familyties_events_published_total ", after, re.M)


def test_every_answer_carries_a_request_id_and_security_headers(client):
    response = client.get("/healthz", headers={"X-Request-Id": "partner-req-0001"})
    assert response.headers["X-Request-Id"] == "partner-req-0001"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    forged = client.get("/healthz", headers={"X-Request-Id": "<script>alert(1)</script>"})
    assert forged.headers["X-Request-Id"] != "<script>alert(1)</script>"


def test_a_request_the_database_cannot_serve_in_time_answers_503_and_stores_nothing(
    settings, partner_key, referral_db
):
    """An overloaded database sheds work: past the request's deadline the answer is a 503
    to try again, not a request left queueing."""
    hurried = dataclasses.replace(settings, request_database_seconds=0.000_001)
    answer = (
        create_app(hurried)
        .test_client()
        .post("/v1/referrals", json=referral(), headers={"Authorization": f"Bearer {partner_key}"})
    )
    assert answer.status_code == 503
    assert answer.content_type == "application/problem+json"
    assert answer.headers["Retry-After"] == "5"
    assert referral_db.referrals.count_documents({}) == 0


def test_a_method_name_a_client_invents_is_counted_as_other(client):
    for invented in ("BREW", "WHEN", "X-ANYTHING"):
        client.open("/healthz", method=invented)
    exposition = client.get("/metrics").get_data(as_text=True)
    assert metric(exposition, "familyties_http_requests_total", method="other") == 3
    assert not re.search(r'method="(BREW|WHEN|X-ANYTHING)"', exposition)
