"""The directory's OpenAPI document is valid, and requests generated from it (schemathesis,
a few hundred of them, with and without an editor's key) never get a server error."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate

from services.directory.worker import load_seed_if_empty
from tests.integration.conftest import editor_key

EXAMPLES_PER_OPERATION = 25


def test_the_openapi_document_is_valid(directory_client):
    document = directory_client.get("/openapi.json").get_json()
    validate(document)
    for path in [
        "/",
        "/services",
        "/services/{service_id}",
        "/organizations",
        "/taxonomies",
        "/taxonomy_terms",
        "/locations/{location_id}",
        "/metadata",
    ]:
        assert path in document["paths"], path


def test_generated_requests_get_no_server_error(directory_app, directory):
    load_seed_if_empty(directory)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", directory_app)
    editor = editor_key(directory_app, "editor", "safeguarding")
    operations = [result.ok() for result in schema.get_all_operations()]
    sent: list[tuple[str, int]] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            headers = editor if len(sent) % 2 else {}
            response = case.call(headers=headers)
            sent.append((case.operation.label, response.status_code))
            assert response.status_code < 500, (case.operation.label, response.text[:500])

        check()

    assert len(sent) >= 200
    assert len(operations) >= 15
    assert {code for _, code in sent} >= {200, 401, 404, 422}
