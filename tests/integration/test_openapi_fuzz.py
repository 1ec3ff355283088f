"""Every service's OpenAPI document is valid, and requests generated from it (schemathesis,
positive and negative data, every operation) sent by every kind of caller — no key, a
revoked key, and each key and role the service knows — get no server error. Every refusal
is a problem document whose `status` is the HTTP code, and every answer conforms to the
document: its status code, its content type and its body. Thousands of requests in all;
ids in paths and bodies are often real ones, so operations reach real resources."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from backbone.api_keys import KeyHolders
from backbone.clock import now, today
from backbone.events.catalogue import event_type
from backbone.events.envelope import decode, encode, new_event
from backbone.problems import PROBLEM_JSON
from services.casework.handlers import handlers
from services.casework.repository import Cases
from services.directory.taxonomy import need_term_id
from services.directory.worker import load_seed_if_empty
from services.reporting.repository import BulkApplier
from services.reporting.viewers import Viewers
from tests.factories import referral, referral_received_data
from tests.integration.conftest import editor_key, staff_key
from tests.unit.reporting_events import referral_received

PROBLEM = "#/components/schemas/Problem"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Requests = operations x examples x kinds of caller: 3 x 3, 13 x 4 and 20 x 5.
EXAMPLES_PER_OPERATION = {"referral": 60, "casework": 40, "directory": 30, "reporting": 40}
AT_LEAST = {"referral": 500, "casework": 1800, "directory": 2500, "reporting": 500}
# Statuses each service answers at least once: the data reaches real resources.
ANSWERED = {
    "referral": {200, 201, 401, 404, 422},
    "casework": {200, 401, 403, 404, 422},
    "directory": {200, 201, 401, 403, 404, 412, 422},
    "reporting": {200, 401, 403, 422},
}

DOCUMENTED_PATHS = {
    "referral": [
        "/v1/referrals",
        "/v1/referrals/{referral_id}",
        "/v1/referrals/{referral_id}/withdrawal",
    ],
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
    "reporting": [
        "/v1/reports/referrals-by-month",
        "/v1/reports/withdrawals-by-month",
        "/v1/reports/needs",
        "/v1/reports/headline",
        "/v1/reports/caseloads",
    ],
}


@dataclass
class Target:
    """A service under fuzzing: its app, how each kind of caller authenticates, real ids
    by the name of the parameter or body field that takes them, and valid bodies by
    operation (generated ones are rarely valid beyond their schema)."""

    app: Flask
    callers: dict[str, dict[str, str]]
    real_ids: dict[str, list[str]]
    bodies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


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
    client.post(f"/v1/cases/{case_id}/decline", json=CASE_BODIES["decline"][0], headers=auth)
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


# ---- the services, with data worth reaching --------------------------------------------


@pytest.fixture
def referral_target(referral_app) -> Target:
    partners = referral_app.extensions["partners"]
    _, key = partners.create("Routes out of Prison Glasgow")
    _, other = partners.create("Another partner")
    client = referral_app.test_client()
    ids = [
        client.post("/v1/referrals", json=referral(n), headers=bearer(k)).get_json()["id"]
        for n, k in [(1, key), (2, key), (3, key), (4, other)]
    ]
    return Target(
        referral_app,
        {"no key": {}, "revoked key": bearer(revoked(partners)), "partner": bearer(key)},
        {"referral_id": ids},
        {
            "POST /v1/referrals": [referral(n) for n in range(5, 9)],
            "POST /v1/referrals/{referral_id}/withdrawal": [
                {"reason": "sent_by_mistake"},
                {"reason": "other", "details": "The family moved away."},
            ],
        },
    )


@pytest.fixture
def casework_target(casework_app) -> Target:
    casework = casework_app.extensions["casework"]
    cases = casework.cases
    manager, manager_auth = staff_key(casework_app, "morgan.manager", "manager")
    coordinator, coordinator_auth = staff_key(casework_app, "casey.coordinator", "coordinator")
    other, _ = staff_key(casework_app, "robin.coordinator", "coordinator")
    service_id = keep_directory_service(cases)
    case_ids = [open_case(cases) for _ in range(4)]
    for case_id, owner in zip(case_ids, [coordinator, coordinator, other], strict=False):
        casework.allocate(manager, case_id, owner["_id"])  # the fourth stays open
    made = casework.signpost(
        coordinator,
        case_ids[0],
        {"service_id": service_id, "method": "telephone", "personal_details_shared": False},
    )
    return Target(
        casework_app,
        {
            "no key": {},
            "revoked key": bearer(revoked(casework.staff, roles=["manager"])),
            "coordinator": coordinator_auth,
            "manager": manager_auth,
        },
        {
            "case_id": case_ids,
            "signpost_id": [made["signposts"][0]["id"]],
            "coordinator_id": [coordinator["_id"], other["_id"], manager["_id"]],
            "service_id": [service_id],
        },
        {f"POST /v1/cases/{{case_id}}/{name}": bodies for name, bodies in CASE_BODIES.items()},
    )


an_hour_ago = (now() - timedelta(hours=1)).isoformat()
CASE_BODIES = {
    "contacts": [{"method": "telephone", "happened_at": an_hour_ago, "duration_minutes": 20}],
    "needs": [{"needs": [{"need": "bereavement", "status": "identified"}]}],
    "signposts": [{"service_id": "", "method": "letter", "personal_details_shared": False}],
    "signposts/{signpost_id}/outcome": [{"outcome": "engaged"}],
    "support": [{"ongoing": True}, {"ongoing": False}],
    "decline": [{"reason_for_referrer": "Another service suits the family better."}],
    "close": [{"outcomes": ["needs_met"], "outcome_for_referrer": "The family is settled."}],
    "allocation": [{"coordinator_id": ""}],
}


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


def keep_directory_service(cases: Cases) -> str:
    service_id = str(uuid.uuid4())
    cases.keep_service(
        {
            "_id": service_id,
            "name": "Cruse bereavement helpline",
            "description": "Support.",
            "status": "active",
            "organization_name": "Cruse Scotland",
            "areas": ["Scotland"],
            "needs": ["bereavement"],
            "phones": ["0808 802 6161"],
            "last_modified": now().isoformat(),
        },
        None,
    )
    return service_id


@pytest.fixture
def directory_target(directory_app, directory) -> Target:
    load_seed_if_empty(directory)
    db = directory.db

    def ids(collection: str) -> list[str]:
        return [d["_id"] for d in db[collection].find({}, {"_id": 1})]

    services, organizations = ids("services"), ids("organizations")
    editors = directory_app.extensions["editors"]
    return Target(
        directory_app,
        {
            "no key": {},
            "revoked key": bearer(revoked(editors, roles=["editor", "safeguarding"])),
            "no role": editor_key(directory_app),
            "editor": editor_key(directory_app, "editor"),
            "editor+safeguarding": editor_key(directory_app, "editor", "safeguarding"),
        },
        {
            "service_id": services,
            "organization_id": organizations,
            "location_id": ids("locations"),
            "taxonomy_id": ids("taxonomies"),
            "term_id": ids("taxonomy_terms"),
            "taxonomy_term_id": ids("taxonomy_terms"),
            "resource_id": services,
        },
        directory_bodies(organizations[0]),
    )


@pytest.fixture
def reporting_target(reporting_app) -> Target:
    view = reporting_app.extensions["reports"].view
    viewers = Viewers(view.db)
    applier = BulkApplier(view.current())
    applier.add(
        referral_received(f"r{n}", referred_on=today() - timedelta(days=40 * n)) for n in range(9)
    )
    applier.flush()

    def key(role: str) -> dict[str, str]:
        return bearer(viewers.create_account(role, role.title(), role, "a long password")[1])

    return Target(
        reporting_app,
        {
            "no key": {},
            "revoked key": bearer(revoked(viewers, roles=["manager"])),
            "funder": key("funder"),
            "manager": key("manager"),
        },
        {},
    )


def directory_bodies(organization_id: str) -> dict[str, list[dict[str, Any]]]:
    service = {
        "organization_id": organization_id,
        "name": "Family drop-in, Greenock",
        "description": "A weekly drop-in for families with a relative in prison.",
        "phones": [{"number": "01632 960123"}],
        "service_areas": [{"name": "Inverclyde"}],
        "attributes": [{"taxonomy_term_id": need_term_id("family_relationships")}],
    }
    organization = {"name": "Inverclyde Family Support", "description": "Families first."}
    hall = {"name": "Greenock community centre"}
    refuge = {
        "name": "Refuge, Inverclyde",
        "x_confidential": True,
        "x_safe_contact": "Through the domestic abuse helpline.",
        "addresses": [{"address_1": "1 Hidden Wynd", "city": "Glasgow", "postal_code": "G5 9ZZ"}],
    }
    return {
        "POST /services": [service],
        "PATCH /services/{service_id}": [{"name": "Family drop-in, Port Glasgow"}],
        "POST /organizations": [organization],
        "PATCH /organizations/{organization_id}": [{"name": "Inverclyde Families Together"}],
        "POST /locations": [hall, refuge],
        "PATCH /locations/{location_id}": [hall, {"addresses": refuge["addresses"]}],
    }


def revoked(holders: KeyHolders, **fields: Any) -> str:
    """A key that was good until its holder was revoked."""
    holder, key = holders.create("Revoked", **fields)
    holders.revoke(holder["_id"])
    return key


# ---- the fuzzing -----------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    caller: str
    operation: str
    status: int


@pytest.mark.parametrize("service", list(DOCUMENTED_PATHS))
def test_generated_requests_get_no_server_error_and_conform(service, request):
    target: Target = request.getfixturevalue(f"{service}_target")
    started = time.perf_counter()
    sent = fuzz(target, EXAMPLES_PER_OPERATION[service])
    elapsed = time.perf_counter() - started

    by_caller = Counter(s.caller for s in sent)
    by_status = Counter(s.status for s in sent)
    print(f"\n{service}: {len(sent)} requests in {elapsed:.0f}s", dict(by_caller), dict(by_status))
    assert len(sent) >= AT_LEAST[service]
    assert set(by_caller) == set(target.callers)
    assert set(by_status) >= ANSWERED[service]
    # a key is refused (401) exactly where the document says one is needed, and a revoked
    # key everywhere
    secured = operations_needing_a_key(target.app)
    for operation in {s.operation for s in sent}:
        keyless = {s.status for s in sent if s.operation == operation and s.caller == "no key"}
        assert (keyless == {401}) == (operation in secured), (operation, keyless)
    assert {s.status for s in sent if s.caller == "revoked key"} == {401}


def operations_needing_a_key(app: Flask) -> set[str]:
    document = app.test_client().get("/openapi.json").get_json()
    return {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if method != "parameters" and operation.get("security", document.get("security"))
    }


def fuzz(target: Target, examples: int) -> list[Sent]:
    """Send `examples` generated requests per operation, each as every kind of caller."""
    schema = schemathesis.openapi.from_wsgi("/openapi.json", target.app)
    sent: list[Sent] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        strategies = [
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
            *(operation.as_strategy(body=body) for body in target.bodies.get(operation.label, [])),
        ]
        run_operation(target, st.one_of(strategies), examples, sent.append)
    return sent


def run_operation(
    target: Target, cases: SearchStrategy[Case], examples: int, record: Callable[[Sent], None]
) -> None:
    @given(case=cases, data=st.data())
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def send(case: Case, data: st.DataObject) -> None:
        use_real_ids(case, target.real_ids, data)
        for caller, headers in target.callers.items():
            case.headers.pop("Authorization", None)
            response = case.call(headers=headers)
            # a negative case may leave out the key it was given
            kind = caller if "Authorization" in response.request.headers else "no key"
            record(Sent(kind, case.operation.label, response.status_code))
            what = (
                f"{case.operation.label} as {kind}, path {case.path_parameters}, query "
                f"{case.query}, body {str(case.body)[:500]}: "
                f"{response.status_code} {response.text[:500]}"
            )
            assert response.status_code < 500, what
            if 400 <= response.status_code < 500:
                assert response.headers.get("content-type") == [PROBLEM_JSON], what
                assert response.json()["status"] == response.status_code, what
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except BaseExceptionGroup as failure:  # schemathesis names each failed check
                failure.add_note(f"Sent as {kind}.")
                raise

    send()


def use_real_ids(case: Case, real_ids: dict[str, list[str]], data: st.DataObject) -> None:
    """Half the time, each path parameter, query parameter or body field that takes an id
    takes a real one."""
    for attribute in ("path_parameters", "query", "body"):
        values = getattr(case, attribute)
        if not isinstance(values, dict):
            continue
        chosen = {
            name: data.draw(st.sampled_from(real_ids[name]))
            for name in values
            if name in real_ids and data.draw(st.booleans())
        }
        if chosen:
            setattr(case, attribute, {**values, **chosen})
