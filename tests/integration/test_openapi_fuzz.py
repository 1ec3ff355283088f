"""Every service's OpenAPI document is valid and says what each operation answers, its
errors included."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from backbone.problems import PROBLEM_JSON

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
