"""The directory's HSDS read API over the seed directory, against the real database:
what a coordinator searching for an agency, and an Open Referral client, rely on."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import timedelta

import pytest

from backbone.clock import now
from backbone.events import vocabulary
from backbone.settings import Settings
from services.directory.app import create_app
from services.directory.taxonomy import NEEDS_TAXONOMY_ID, need_term_id
from services.directory.worker import load_seed_if_empty
from tests.integration.conftest import editor_key


@pytest.fixture(scope="module")
def app(kafka_server, mongo_server):
    """One seeded directory for the whole module: these tests only read."""
    settings = dataclasses.replace(
        Settings(),
        mongodb_uri=mongo_server[0],
        kafka_bootstrap_servers=kafka_server[0],
        database_prefix=f"t{uuid.uuid4().hex[:10]}_",
    )
    app = create_app(settings)
    assert load_seed_if_empty(app.extensions["directory"]) > 100
    return app


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


def services(client, **query) -> dict:
    response = client.get("/services", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def names(page: dict) -> list[str]:
    return [service["name"] for service in page["contents"]]


def test_the_root_says_which_hsds_version_and_profile_and_where_the_openapi_is(client):
    info = client.get("/").get_json()
    assert info["version"] == "3.0"
    assert info["profile"] == "https://openreferraluk.org"
    assert client.get(info["openapi_url"]).status_code == 200


def test_links_given_out_use_the_configured_public_url_not_the_host_sent(settings):
    public = dataclasses.replace(settings, public_urls={"directory": "https://dir.example.org"})
    client = create_app(public).test_client()
    info = client.get("/", headers={"Host": "attacker.example"}).get_json()
    assert info["openapi_url"] == "https://dir.example.org/openapi.json"


def test_a_page_has_the_hsds_envelope(client):
    page = services(client, per_page=5)
    assert page["size"] == 5
    assert page["page_number"] == 1
    assert page["first_page"] is True and page["last_page"] is False
    assert page["empty"] is False
    assert page["total_pages"] == -(-page["total_items"] // 5)
    assert len(page["contents"]) == 5


def test_paging_reaches_the_last_page_with_every_service_once(client):
    first = services(client, per_page=9)
    seen, number = [], 1
    while True:
        page = services(client, per_page=9, page=number)
        seen += [service["id"] for service in page["contents"]]
        if page["last_page"]:
            break
        number += 1
    assert number == first["total_pages"]
    assert page["size"] == first["total_items"] - 9 * (number - 1)
    assert sorted(seen) == sorted(set(seen)) and len(seen) == first["total_items"]

    beyond = client.get("/services", query_string={"per_page": 9, "page": number + 1})
    assert beyond.status_code == 422
    assert beyond.get_json()["errors"] == [
        {"pointer": "/page", "detail": f"There are {number} pages of 9."}
    ]
    # nothing found is an empty first page, not a mistake
    nothing = services(client, search="zzzz")
    assert (nothing["total_items"], nothing["empty"], nothing["contents"]) == (0, True, [])


def test_a_service_is_fully_nested(client):
    [fco] = services(client, search="family contact officers barlinnie")["contents"]
    service = client.get(f"/services/{fco['id']}").get_json()
    assert service == fco
    assert service["organization"]["name"] == "Scottish Prison Service"
    assert service["organization"]["x_agency_type"] == "statutory"
    [link] = service["service_at_locations"]
    assert link["location"]["name"] == "HMP Barlinnie"
    assert link["location"]["addresses"][0]["postal_code"] == "G33 2QX"
    assert {attribute["taxonomy_term"]["name"] for attribute in service["attributes"]} == {
        "Prison contact and visits",
        "Coping with imprisonment or release",
    }
    assert service["phones"][0]["number"].startswith("0141 496 ")
    assert service["schedules"][0]["byday"] == "MO,TU,WE,TH,FR"
    assert service["service_areas"] == [
        {"id": service["service_areas"][0]["id"], "name": "Scotland"}
    ]
    assert not {"outbox", "version", "search_text", "area_codes"} & set(service)


def test_an_unknown_service_is_not_found(client):
    response = client.get("/services/no-such-service")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_services_for_a_need_in_an_area_put_the_local_ones_first(client):
    page = services(
        client, taxonomy_term_id=need_term_id("bereavement"), local_authority="INVERCLYDE"
    )
    assert names(page) == [
        "Bereavement support, North Strathclyde",  # covers Inverclyde
        "Cruse bereavement helpline",  # national, by name
        "Scottish Families helpline",
    ]


def test_search_reads_the_areas_a_service_serves(client):
    assert names(services(client, search="bereavement inverclyde")) == [
        "Bereavement support, North Strathclyde"
    ]


def test_search_finds_words_in_names_descriptions_and_needs(client):
    assert names(services(client, search="kinship", local_authority="GLASGOW_CITY"))[:2] == [
        "Carers centre, Glasgow City",
        "Children and families social work, Glasgow City",
    ]
    # "mediation" is in the name of one service only; "separating" in a description
    assert names(services(client, search="mediation")) == ["Family mediation"]
    assert names(services(client, search="separat")) == ["Family mediation"]
    # every word must match: no service is about both
    assert services(client, search="bereavement housing")["total_items"] == 0


def test_a_better_match_ranks_higher_within_the_same_area(client):
    # "addiction" is in these services' names; the national helplines only mention drugs
    found = names(services(client, search="alcohol drug", local_authority="EAST_AYRSHIRE"))
    assert found[0] == "Community Addiction Team, East Ayrshire"
    assert "Scottish Families helpline" in found


def test_a_referring_team_means_its_local_authorities(client):
    page = services(client, search="housing options", referring_team="LANARKSHIRE")
    assert names(page) == [
        "Housing options and homelessness, North Lanarkshire",
        "Housing options and homelessness, South Lanarkshire",
    ]


def test_an_area_filter_leaves_out_other_areas_but_keeps_national_services(client):
    page = services(client, local_authority="DUMFRIES_AND_GALLOWAY", per_page=100)
    areas = {area["name"] for service in page["contents"] for area in service["service_areas"]}
    assert "Glasgow City" not in areas
    assert {"Dumfries and Galloway", "Scotland"} <= areas
    assert all(
        {"Dumfries and Galloway", "Scotland"} & {area["name"] for area in service["service_areas"]}
        for service in page["contents"]
    )


def test_filter_by_organization(client):
    sps = client.get("/organizations", query_string={"search": "prison service"}).get_json()
    [organization] = sps["contents"]
    page = services(client, organization_id=organization["id"], per_page=100)
    assert page["total_items"] == 14  # two for each of the seven prisons
    assert {service["organization"]["id"] for service in page["contents"]} == {organization["id"]}


def test_filter_by_modification_time(client):
    everything = services(client)["total_items"]
    assert (
        services(client, modified_after=(now() - timedelta(hours=1)).isoformat())["total_items"]
        == everything
    )
    assert (
        services(client, modified_after=(now() + timedelta(minutes=1)).isoformat())["total_items"]
        == 0
    )


def test_ndjson_streams_every_matching_service_fully_nested(client):
    query = {"format": "ndjson", "search": "carers centre"}
    response = client.get("/services", query_string=query)
    assert response.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in response.data.decode().splitlines()]
    # one carers centre in each local authority of the four referring teams
    areas = sum(len(codes) for codes in vocabulary.TEAM_LOCAL_AUTHORITIES.values())
    assert len(lines) == services(client, search="carers centre")["total_items"] == areas
    assert all(line["organization"]["name"] == "Carers Trust Scotland" for line in lines)

    everything = client.get("/services?format=ndjson").data.decode().splitlines()
    assert len(everything) == services(client)["total_items"]


def test_organizations_taxonomies_and_terms_are_listed(client):
    organizations = client.get("/organizations?per_page=100").get_json()
    assert "Families Outside" in [
        organization["name"] for organization in organizations["contents"]
    ]
    [taxonomy] = client.get("/taxonomies").get_json()["contents"]
    assert taxonomy["id"] == NEEDS_TAXONOMY_ID
    terms = client.get(f"/taxonomy_terms?taxonomy_id={NEEDS_TAXONOMY_ID}&per_page=100")
    assert {term["name"] for term in terms.get_json()["contents"]} == set(vocabulary.NEEDS.values())
    term = client.get(f"/taxonomy_terms/{need_term_id('housing')}").get_json()
    assert (term["code"], term["taxonomy_id"]) == ("housing", NEEDS_TAXONOMY_ID)


def test_organisations_are_listed_with_their_agency_type_which_the_openapi_documents(client):
    organizations = client.get("/organizations?per_page=100").get_json()["contents"]
    agency_types = {
        organization["name"]: organization["x_agency_type"] for organization in organizations
    }
    assert agency_types["Families Outside"] == "voluntary"
    assert agency_types["Inverclyde Council"] == "statutory"
    document = client.get("/openapi.json").get_json()
    documented = document["components"]["schemas"]["Organization"]["properties"]["x_agency_type"]
    assert documented["enum"] == list(vocabulary.AGENCY_TYPES)
    assert "statutory" in documented["description"]


def test_public_reads_may_be_used_from_any_web_page(client, app):
    for path in ["/", "/services", "/organizations", "/taxonomies", "/taxonomy_terms"]:
        assert client.get(path).headers["Access-Control-Allow-Origin"] == "*", path
    # what an editor's key unlocked is for that editor alone
    response = client.get("/services", headers=editor_key(app, "safeguarding"))
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ({"page": 0}, "/page"),
        ({"page": -1}, "/page"),
        ({"page": "two"}, "/page"),
        ({"page": 10_001}, "/page"),
        ({"per_page": 0}, "/per_page"),
        ({"per_page": 101}, "/per_page"),
        ({"taxonomy_term_id": "not-a-term"}, "/taxonomy_term_id"),
        ({"local_authority": "ATLANTIS"}, "/local_authority"),
        ({"referring_team": "EDINBURGH"}, "/referring_team"),
        ({"local_authority": "INVERCLYDE", "referring_team": "GLASGOW"}, "/"),
        ({"modified_after": "yesterday"}, "/modified_after"),
        ({"modified_after": "0001-01-01T00:00:00+00:01"}, "/modified_after"),
        ({"modified_after": "9999-12-31T23:59:59-23:59"}, "/modified_after"),
        ({"search": "\x1b[2J"}, "/search"),
        ({"format": "xml"}, "/format"),
        ({"colour": "blue"}, "/colour"),
    ],
)
def test_a_bad_query_is_refused_with_the_field_and_why(client, query, pointer):
    response = client.get("/services", query_string=query)
    assert response.status_code == 422
    body = response.get_json()
    assert [error["pointer"] for error in body["errors"]] == [pointer]
    assert body["errors"][0]["detail"]


def test_a_bad_key_on_a_read_is_refused_rather_than_ignored(client):
    response = client.get("/services", headers={"Authorization": "Bearer fte_wrong"})
    assert response.status_code == 401
