"""Every service's OpenAPI document is valid and says what each operation answers, its
errors included."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from backbone.clock import now
from backbone.events.catalogue import event_type
from backbone.events.envelope import decode, encode, new_event
from backbone.problems import PROBLEM_JSON
from services.casework.handlers import handlers
from services.casework.repository import Cases
from tests.factories import referral_received_data
from tests.integration.conftest import staff_key

PROBLEM = "#/components/schemas/Problem"

DOCUMENTED_PATHS = {
    "referral": ["/v1/referrals", "/v1/referrals/{referral_id}"],
    "casework": [
        "/v1/cases",
        "/v1/cases/{case_id}",
        "/v1/cases/{case_id}/audit",
        "/v1/cases/{case_id}/signposts/{signpost_id}/outcome",
        "/v1/directory-services",
    ],
    "directory": [
        "/",
        "/services",
        "/services/{service_id}",
        "/organizations",
        "/taxonomies",
        "/taxonomy_terms",
        "/locations/{location_id}",
        "/metadata",
    ],
}


@pytest.mark.parametrize("service", list(DOCUMENTED_PATHS))
def test_the_openapi_document_is_valid(service, request):
    """Each document is valid OpenAPI and names the paths clients rely on; intake's says
    that every operation needs a partner's key."""
    app = request.getfixturevalue(f"{service}_app")
    document = app.test_client().get("/openapi.json").get_json()
    validate(document)
    for path in DOCUMENTED_PATHS[service]:
        assert path in document["paths"], path
    if service == "referral":
        assert document["security"] == [{"partnerKey": []}]


@pytest.mark.parametrize("service", list(DOCUMENTED_PATHS))
def test_every_error_is_documented_as_the_problem_document_it_is(service, request):
    app = request.getfixturevalue(f"{service}_app")
    document = app.test_client().get("/openapi.json").get_json()
    components = document["components"]
    problem = components["schemas"]["Problem"]
    assert problem["properties"]["status"]["type"] == "integer"
    assert {"type", "title", "status"} <= set(problem["required"])
    for path, operations in document["paths"].items():
        operations.pop("parameters", None)
        for method, operation in operations.items():
            for code, answer in operation["responses"].items():
                if code == "default" or code.startswith("4"):
                    name = answer["$ref"].rsplit("/", 1)[-1]
                    content = components["responses"][name]["content"]
                    where = f"{method} {path} {code}"
                    assert content == {PROBLEM_JSON: {"schema": {"$ref": PROBLEM}}}, where


def test_a_reopened_case_answers_as_documented(casework_app, casework):
    """Reopening empties what the close said (null): the document allows null there."""
    _, auth = staff_key(casework_app, "morgan.manager", "manager")
    case_id = open_case(casework.cases)
    client = casework_app.test_client()
    client.post(
        f"/v1/cases/{case_id}/decline", json={"reason_for_referrer": "Not for us."}, headers=auth
    )
    reopened = client.post(f"/v1/cases/{case_id}/reopen", headers=auth)

    assert reopened.status_code == 200
    assert reopened.get_json()["reason_for_referrer"] is None
    document = client.get("/openapi.json").get_json()
    documented = document["paths"]["/v1/cases/{case_id}/reopen"]["post"]["responses"]["200"]
    schema = {
        **documented["content"]["application/json"]["schema"],
        "components": document["components"],
    }
    assert list(Draft202012Validator(schema).iter_errors(reopened.get_json())) == []


def test_the_change_history_refuses_a_keyless_caller_before_reading_the_query(
    directory_client,
):
    assert directory_client.get("/metadata").status_code == 401


def test_an_ndjson_list_of_services_is_documented(directory_client):
    answer = directory_client.get("/services?format=ndjson")
    document = directory_client.get("/openapi.json").get_json()
    documented = document["paths"]["/services"]["get"]["responses"]["200"]["content"]
    assert answer.mimetype in documented


def open_case(cases: Cases) -> str:
    """A case opened as casework's consumer opens one, for a referral received yesterday."""
    data = {
        **referral_received_data(),
        "referral_id": str(uuid.uuid4()),
        "received_at": (now() - timedelta(days=1)).isoformat(),
    }
    envelope = new_event(
        "ReferralReceived", event_type("ReferralReceived").source, data["referral_id"], data
    )
    event = decode(encode(envelope))
    cases.in_transaction(lambda session: handlers(cases)["ReferralReceived"](event, session))
    return cases.cases.find_one({"referral_id": data["referral_id"]})["_id"]
