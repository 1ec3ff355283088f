"""Casework against the real servers: a case per referral (once), the operations over the
JSON API under each role, the audit trail, and bad input that changes nothing."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from kafka.admin import NewTopic

from backbone import kafka
from backbone.clock import now
from backbone.consumer import ConsumerRunner
from backbone.events.catalogue import event_type as event_type_of
from backbone.events.envelope import decode, encode, new_event
from services.casework.handlers import handlers
from services.directory.seed import seed_services
from services.directory.taxonomy import need_term_id
from services.referral import SOURCE as REFERRAL_SOURCE
from tests.factories import referral_received_data
from tests.integration.conftest import staff_key

CRUSE_ID = next(s["id"] for s in seed_services() if s["name"] == "Cruse bereavement helpline")


def deliver(cases, event_type: str, subject: str, data: dict) -> dict:
    """Apply an event as casework's consumer does: decoded, in a transaction."""
    envelope = new_event(event_type, event_type_of(event_type).source, subject, data)
    event = decode(encode(envelope))
    cases.in_transaction(lambda session: handlers(cases)[event_type](event, session))
    return envelope


def a_referral(**changes) -> dict:
    """A referral received yesterday, so that contacts can follow it."""
    data = referral_received_data()
    data["referral_id"] = str(uuid.uuid4())
    data["received_at"] = (now() - timedelta(days=1)).isoformat()
    return {**data, **changes}


def directory_service(name: str = "Cruse bereavement helpline") -> dict:
    """The directory's public view of a seed service, as its ServicePublished carries it."""
    service = next(s for s in seed_services() if s["name"] == name)
    for attribute in service["attributes"]:
        code = next(
            c
            for c in (
                "bereavement",
                "one_to_one_emotional_support",
                "domestic_abuse",
                "housing",
                "children_and_parenting",
            )
            if need_term_id(c) == attribute["taxonomy_term_id"]
        )
        attribute["taxonomy_term"] = {
            "id": attribute["taxonomy_term_id"],
            "code": code,
            "name": code,
            "description": code,
        }
    return {
        "service": service,
        "change": {
            "action": "create",
            "resource_type": "service",
            "resource_id": service["id"],
            "by": {"id": "seed", "name": "Seed"},
            "at": now().isoformat(),
            "fields_changed": [],
        },
    }


@pytest.fixture
def people(casework_app):
    manager, manager_auth = staff_key(casework_app, "morgan.manager", "manager")
    casey, casey_auth = staff_key(casework_app, "casey.coordinator", "coordinator")
    robin, robin_auth = staff_key(casework_app, "robin.coordinator", "coordinator")
    return {
        "manager": (manager, manager_auth),
        "casey": (casey, casey_auth),
        "robin": (robin, robin_auth),
    }


@pytest.fixture
def case_id(casework, people) -> str:
    """A case opened from a referral and allocated to Casey."""
    referral = a_referral()
    deliver(casework.cases, "ReferralReceived", referral["referral_id"], referral)
    case = casework.cases.cases.find_one({"referral_id": referral["referral_id"]})
    casework.allocate(people["manager"][0], case["_id"], people["casey"][0]["_id"])
    return case["_id"]


def post(client, path, auth, body=None):
    return client.post(path, json=body or {}, headers=auth)


def state(casework, case_id) -> tuple:
    """What a refused request must leave as it was: the case, its events, and its audit
    trail but for the record of the refusal itself."""
    case = casework.cases.cases.find_one({"_id": case_id})
    audit = casework.cases.audit.count_documents({"action": {"$ne": "refused"}})
    return case["version"], len(case["outbox"]), audit


def test_redelivering_every_referral_opens_no_second_case(settings, casework):
    topic = f"test.referrals.{uuid.uuid4().hex[:8]}"
    admin = kafka.admin(settings)
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    admin.close()
    producer = kafka.producer(settings)
    referrals = [a_referral() for _ in range(5)]
    envelopes = [
        new_event("ReferralReceived", REFERRAL_SOURCE, r["referral_id"], r) for r in referrals
    ]
    for _ in range(2):  # every event twice
        for envelope in envelopes:
            producer.send(topic, key=envelope["subject"].encode(), value=encode(envelope))
    # and once more under a new event id, as if intake had published it afresh
    again = new_event(
        "ReferralReceived", REFERRAL_SOURCE, referrals[0]["referral_id"], referrals[0]
    )
    producer.send(topic, key=again["subject"].encode(), value=encode(again)).get(10)
    group = f"casework-{uuid.uuid4().hex[:6]}"
    runner = ConsumerRunner(group, [topic], handlers(casework.cases), casework.cases.db, settings)
    stop, deadline, seen = threading.Event(), time.monotonic() + 45, 0
    while seen < 11 and time.monotonic() < deadline:
        seen += runner.poll_once(stop)
    runner.close()
    producer.close()

    assert seen == 11
    cases = list(casework.cases.cases.find())
    assert sorted(c["referral_id"] for c in cases) == sorted(r["referral_id"] for r in referrals)
    assert all([e["type"] for e in c["outbox"]] == ["CaseOpened"] for c in cases)


def test_a_coordinator_works_a_case_from_contact_to_close(casework_app, casework, people, case_id):
    client = casework_app.test_client()
    _, auth = people["casey"]
    deliver(casework.cases, "ServicePublished", CRUSE_ID, directory_service())
    need = "bereavement"
    steps = [
        (f"/v1/cases/{case_id}/needs", {"needs": [{"need": need, "status": "identified"}]}),
        (
            f"/v1/cases/{case_id}/contacts",
            {
                "method": "childrens_hearing",
                "happened_at": (now() - timedelta(hours=2)).isoformat(),
                "duration_minutes": 90,
                "notes": "Went with the family to the hearing.",
                "needs_addressed": [need],
            },
        ),
        (f"/v1/cases/{case_id}/support", {"ongoing": True}),
        (
            f"/v1/cases/{case_id}/signposts",
            {"service_id": CRUSE_ID, "method": "telephone", "personal_details_shared": False},
        ),
    ]
    for path, body in steps:
        response = post(client, path, auth, body)
        assert response.status_code == 200, response.get_json()
    signpost = response.get_json()["signposts"][0]
    assert signpost["service_name"] == "Cruse bereavement helpline"
    outcome = post(
        client,
        f"/v1/cases/{case_id}/signposts/{signpost['id']}/outcome",
        auth,
        {"outcome": "engaged"},
    )
    assert outcome.get_json()["signposts"][0]["outcome"] == "engaged"
    closed = post(
        client,
        f"/v1/cases/{case_id}/close",
        auth,
        {
            "outcomes": ["needs_met", "signposted_on"],
            "outcome_for_referrer": "Supported for three months; now with Cruse.",
        },
    )
    assert closed.status_code == 200
    case = closed.get_json()
    assert case["status"] == "closed"
    assert case["needs"][need]["status"] == "addressed"
    assert case["support"]["ongoing"] is False  # closing ended the support
    assert [t["kind"] for t in case["timeline"]] == [
        "CaseOpened",
        "CaseAllocated",
        "NeedsAssessed",
        "ContactRecorded",
        "SupportStarted",
        "SignpostMade",
        "SignpostOutcomeRecorded",
        "SupportEnded",
        "CaseClosed",
    ]
    events = casework.cases.cases.find_one({"_id": case_id})["outbox"]
    assert [e["type"] for e in events][-2:] == ["SupportEnded", "CaseClosed"]
    for event in events:  # each passes the catalogue's checks, as intake's consumer runs them
        decode(encode(event))
    contact_event = next(e for e in events if e["type"] == "ContactRecorded")
    assert "notes" not in contact_event["data"]  # the notes stay in casework
    signpost_event = next(e for e in events if e["type"] == "SignpostMade")
    # of the case's needs, the one the directory lists Cruse's helpline for
    assert signpost_event["data"]["needs"] == ["bereavement"]

    reopened = post(client, f"/v1/cases/{case_id}/reopen", auth)
    assert reopened.get_json()["status"] == "allocated"


def test_every_read_and_change_is_in_the_audit_trail_which_only_managers_read(
    casework_app, people, case_id
):
    client = casework_app.test_client()
    _, casey = people["casey"]
    _, manager = people["manager"]
    client.get(f"/v1/cases/{case_id}", headers=casey)
    post(client, f"/v1/cases/{case_id}/support", casey, {"ongoing": True})
    assert client.get(f"/v1/cases/{case_id}/audit", headers=casey).status_code == 403
    trail = client.get(f"/v1/cases/{case_id}/audit", headers=manager).get_json()
    assert [(e["staff_name"], e["action"]) for e in trail] == [
        ("Morgan Manager", "CaseAllocated"),
        ("Casey Coordinator", "read"),
        ("Casey Coordinator", "SupportStarted"),
    ]


def contact_now() -> dict:
    return {
        "method": "telephone",
        "happened_at": (now() - timedelta(minutes=5)).isoformat(),
        "duration_minutes": 15,
    }


OPERATIONS = {  # a valid request for each operation: a refusal is about who asks
    "read": ("GET", "", None),
    "audit": ("GET", "/audit", None),
    "allocate": ("POST", "/allocation", "to robin"),
    "contact": ("POST", "/contacts", contact_now),
    "needs": ("POST", "/needs", {"needs": [{"need": "housing", "status": "identified"}]}),
    "signpost": (
        "POST",
        "/signposts",
        {"service_id": CRUSE_ID, "method": "letter", "personal_details_shared": False},
    ),
    "outcome": ("POST", "/signposts/none/outcome", {"outcome": "engaged"}),
    "support": ("POST", "/support", {"ongoing": True}),
    "decline": ("POST", "/decline", {"reason_for_referrer": "Outside our areas."}),
    "close": ("POST", "/close", {"outcomes": ["needs_met"], "outcome_for_referrer": "Done."}),
    "reopen": ("POST", "/reopen", None),
}
# who: (expected status for each operation); 422 is the case's own rule, after the role check
MATRIX = {
    "casey": {
        "read": 200,
        "audit": 403,
        "allocate": 403,
        "contact": 200,
        "needs": 200,
        "signpost": 200,
        "outcome": 422,
        "support": 200,
        "decline": 200,
        "close": 200,
        "reopen": 422,
    },
    "robin": dict.fromkeys(OPERATIONS, 404) | {"audit": 403, "allocate": 403},
    "manager": {
        "read": 200,
        "audit": 200,
        "allocate": 200,
        "contact": 200,
        "needs": 200,
        "signpost": 200,
        "outcome": 422,
        "support": 200,
        "decline": 200,
        "close": 200,
        "reopen": 422,
    },
}


@pytest.mark.parametrize("who", list(MATRIX))
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_the_permission_matrix(casework_app, casework, people, case_id, who, operation):
    """Casey's case, asked of by Casey, by Robin (another coordinator) and by a manager."""
    deliver(casework.cases, "ServicePublished", CRUSE_ID, directory_service())
    method, path, body = OPERATIONS[operation]
    if body == "to robin":
        body = {"coordinator_id": people["robin"][0]["_id"]}
    body = body() if callable(body) else body
    client = casework_app.test_client()
    before = state(casework, case_id)
    url = f"/v1/cases/{case_id}{path}"
    auth = people[who][1]
    answer = client.get(url, headers=auth) if method == "GET" else post(client, url, auth, body)
    assert answer.status_code == MATRIX[who][operation], answer.get_json()
    if answer.status_code in (403, 404):  # refused: nothing changed, no read recorded
        assert state(casework, case_id) == before
    refusals = casework.cases.audit.find({"case_id": case_id, "action": "refused"})
    expected = [people[who][0]["name"]] if answer.status_code == 404 else []
    assert [entry["staff_name"] for entry in refusals] == expected


def test_without_a_key_or_with_a_wrong_one_nothing_is_answered(casework_app, case_id):
    client = casework_app.test_client()
    for auth in [{}, {"Authorization": "Bearer fts_wrong"}, {"Authorization": "Basic abc"}]:
        assert client.get(f"/v1/cases/{case_id}", headers=auth).status_code == 401
        assert client.get("/v1/cases", headers=auth).status_code == 401
        assert (
            post(client, f"/v1/cases/{case_id}/support", auth, {"ongoing": True}).status_code == 401
        )


def test_each_person_lists_the_cases_they_may_see(casework_app, people, case_id):
    client = casework_app.test_client()

    def listed(who: str) -> list[str]:
        return [c["id"] for c in client.get("/v1/cases", headers=people[who][1]).get_json()]

    assert (listed("casey"), listed("robin"), listed("manager")) == ([case_id], [], [case_id])
    post(
        client,
        f"/v1/cases/{case_id}/allocation",
        people["manager"][1],
        {"coordinator_id": people["robin"][0]["_id"]},
    )
    assert (listed("casey"), listed("robin")) == ([], [case_id])


def test_reopening_needs_no_body(casework_app, people, case_id):
    client = casework_app.test_client()
    casey = people["casey"][1]
    post(
        client,
        f"/v1/cases/{case_id}/close",
        casey,
        {"outcomes": ["needs_met"], "outcome_for_referrer": "Done."},
    )
    reopened = client.post(f"/v1/cases/{case_id}/reopen", headers=casey)
    assert reopened.status_code == 200
    assert reopened.get_json()["status"] == "allocated"
    assert reopened.get_json()["outcome_for_referrer"] is None


@pytest.mark.parametrize(
    ("path", "body", "pointer"),
    [
        (
            "signposts",
            {"service_id": "no-such-service", "method": "letter", "personal_details_shared": False},
            "/service_id",
        ),
        (
            "contacts",
            {
                "method": "telephone",
                "duration_minutes": 10,
                "happened_at": (now() + timedelta(days=1)).isoformat(),
            },
            "/happened_at",
        ),
        (
            "contacts",
            {"method": "carrier pigeon", "duration_minutes": 10, "happened_at": now().isoformat()},
            "/method",
        ),
        ("needs", {"needs": [{"need": "wealth", "status": "identified"}]}, "/needs/0/need"),
        ("close", {"outcomes": [], "outcome_for_referrer": "x"}, "/outcomes"),
        (
            "close",
            {"outcomes": ["needs_met"], "outcome_for_referrer": "  "},
            "/outcome_for_referrer",
        ),
        (
            "contacts",
            {"method": "telephone", "duration_minutes": 1.5, "happened_at": now().isoformat()},
            "/duration_minutes",
        ),
        (
            "contacts",
            {
                "method": "telephone",
                "duration_minutes": 10,
                "notes": "a\x00b",
                "happened_at": now().isoformat(),
            },
            "/notes",
        ),
        (
            "contacts",
            {
                "method": "telephone",
                "duration_minutes": 10,
                "happened_at": "0001-01-01T00:00:00+00:01",
            },
            "/happened_at",
        ),
        (
            "signposts",
            {"service_id": "\ud800", "method": "letter", "personal_details_shared": False},
            "/service_id",
        ),
    ],
)
def test_bad_input_is_refused_with_the_field_and_changes_nothing(
    casework_app, casework, people, case_id, path, body, pointer
):
    before = state(casework, case_id)
    response = post(
        casework_app.test_client(), f"/v1/cases/{case_id}/{path}", people["casey"][1], body
    )
    assert response.status_code == 422
    assert pointer in [e["pointer"] for e in response.get_json()["errors"]]
    assert state(casework, case_id) == before


def test_closing_a_closed_case_is_refused(casework_app, casework, people, case_id):
    client = casework_app.test_client()
    close = {"outcomes": ["needs_met"], "outcome_for_referrer": "Done."}
    assert post(client, f"/v1/cases/{case_id}/close", people["casey"][1], close).status_code == 200
    before = state(casework, case_id)
    again = post(client, f"/v1/cases/{case_id}/close", people["casey"][1], close)
    assert again.status_code == 422
    assert "closed" in again.get_json()["detail"]
    assert state(casework, case_id) == before


def test_without_consent_no_details_go_to_the_agency(casework_app, casework, people):
    referral = a_referral()
    referral["consent"] = {**referral["consent"], "share_with_agencies": False}
    deliver(casework.cases, "ReferralReceived", referral["referral_id"], referral)
    deliver(casework.cases, "ServicePublished", CRUSE_ID, directory_service())
    case = casework.cases.cases.find_one({"referral_id": referral["referral_id"]})
    casework.allocate(people["manager"][0], case["_id"], people["casey"][0]["_id"])
    client = casework_app.test_client()
    path = f"/v1/cases/{case['_id']}/signposts"
    shared = {"service_id": CRUSE_ID, "method": "letter", "personal_details_shared": True}
    refused = post(client, path, people["casey"][1], shared)
    assert refused.status_code == 422
    assert "not consented" in refused.get_json()["detail"]
    assert (
        post(
            client, path, people["casey"][1], {**shared, "personal_details_shared": False}
        ).status_code
        == 200
    )


def test_the_signpost_search_puts_the_familys_own_area_first(casework_app, casework, people):
    for name in [
        "Cruse bereavement helpline",
        "Bereavement support, North Strathclyde",
        "Bereavement support, Glasgow",
    ]:
        service = directory_service(name)
        deliver(casework.cases, "ServicePublished", service["service"]["id"], service)
    found = (
        casework_app.test_client()
        .get(
            "/v1/directory-services?need=bereavement&local_authority=INVERCLYDE",
            headers=people["casey"][1],
        )
        .get_json()
    )
    assert [s["name"] for s in found] == [
        "Bereavement support, North Strathclyde",  # Inverclyde's own
        "Cruse bereavement helpline",  # national
    ]


def test_cases_waiting_over_five_working_days_for_a_first_contact_are_found(
    casework_app, casework, people
):
    waiting, recent = a_referral(), a_referral()
    waiting["received_at"] = (now() - timedelta(days=10)).isoformat()  # 6 working days or more
    for referral in (waiting, recent):
        deliver(casework.cases, "ReferralReceived", referral["referral_id"], referral)
    client = casework_app.test_client()
    found = client.get("/v1/cases?waiting_for_first_contact=true", headers=people["manager"][1])
    assert [c["referral_id"] for c in found.get_json()] == [waiting["referral_id"]]
    by_need = client.get("/v1/cases?need=housing&status=open", headers=people["manager"][1])
    assert by_need.get_json() == []  # the factory's referral has no housing need
