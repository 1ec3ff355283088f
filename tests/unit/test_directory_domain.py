"""The directory's rules and its seed data, without I/O."""

from __future__ import annotations

import re

import pytest

from backbone.events import vocabulary
from backbone.events.hsds import NestedServiceSchema, OrganizationSchema
from backbone.problems import field_errors
from services.directory import domain
from services.directory.seed import seed_services
from services.directory.taxonomy import need_term_id, needs_taxonomy


def test_a_referring_team_means_its_local_authorities():
    assert domain.local_authorities_for(referring_team="LANARKSHIRE") == [
        "NORTH_LANARKSHIRE",
        "SOUTH_LANARKSHIRE",
    ]
    assert domain.local_authorities_for(local_authority="INVERCLYDE") == ["INVERCLYDE"]
    assert domain.local_authorities_for() == []


def test_service_areas_are_searched_by_code():
    areas = [{"name": "Inverclyde"}, {"name": "Scotland"}, {"name": "Inverclyde"}]
    assert domain.area_codes(areas) == ["INVERCLYDE", "SCOTLAND"]


def test_a_confidential_location_shows_only_how_to_make_contact():
    refuge = {
        "id": "r1",
        "name": "Refuge",
        "location_type": "physical",
        "x_confidential": True,
        "x_safe_contact": "Call the helpline.",
        "addresses": [{"address_1": "1 Hidden Street"}],
        "latitude": 55.9,
        "longitude": -4.2,
        "transportation": "Bus 9",
        "description": "Near the station",
    }
    assert domain.public_location(refuge) == {
        "id": "r1",
        "location_type": "physical",
        "name": "Refuge",
        "x_confidential": True,
        "x_safe_contact": "Call the helpline.",
    }
    open_office = {"id": "o1", "name": "Office", "addresses": [{"address_1": "2 Main St"}]}
    assert domain.public_location(open_office) == open_office


def test_a_change_lists_each_field_and_withholds_confidential_values():
    before = {"name": "Refuge", "addresses": [{"address_1": "1 Hidden Street"}]}
    after = {
        "name": "Refuge North",
        "addresses": [{"address_1": "2 Hidden Street"}],
        "description": "By the park",
    }
    changes = domain.field_changes(before, after, confidential=True)
    withheld = {"previous_value": domain.WITHHELD, "replacement_value": domain.WITHHELD}
    assert changes == [
        {"field_name": "addresses", **withheld},
        {"field_name": "description", **withheld},  # only what the public sees is shown
        {"field_name": "name", "previous_value": "Refuge", "replacement_value": "Refuge North"},
    ]
    assert domain.field_changes(before, before) == []


def test_the_page_envelope_knows_its_place():
    assert domain.page_envelope([{"id": 1}], total=21, page=3, per_page=10) == {
        "total_items": 21,
        "total_pages": 3,
        "page_number": 3,
        "size": 1,
        "first_page": False,
        "last_page": True,
        "empty": False,
        "contents": [{"id": 1}],
    }
    assert domain.page_envelope([], 0, 1, 10)["empty"] is True


def test_the_seed_is_valid_hsds_covering_every_area_prison_and_agency_type():
    schema = NestedServiceSchema()
    services = seed_services()
    assert not [service["id"] for service in services if schema.validate(service)]
    assert len({service["id"] for service in services}) == len(services)
    _, terms = needs_taxonomy()
    assert {
        attribute["taxonomy_term_id"] for service in services for attribute in service["attributes"]
    } <= {term["_id"] for term in terms}
    areas = {area["name"] for service in services for area in service["service_areas"]}
    team_areas = {
        vocabulary.LOCAL_AUTHORITIES[code]
        for codes in vocabulary.TEAM_LOCAL_AUTHORITIES.values()
        for code in codes
    }
    assert team_areas | {"Scotland"} == areas
    names = " ".join(
        service["name"] + " " + service["organization"]["name"] for service in services
    )
    prisons = ["Barlinnie", "Addiewell", "Greenock", "Kilmarnock", "Dumfries", "Cornton Vale"]
    for prison in [*prisons, "Polmont"]:
        assert f"{prison}," in names or f"{prison} " in names, prison
    agencies = [
        "Women's Aid",
        "Relationships Scotland",
        "Cruse",
        "Citizens Advice",
        "Carers centre",
        "Kinship",
        "Community Addiction Team",
        "Housing options",
        "Welfare rights",
        "Department for Work and Pensions",
        "Family Contact Officers",
        "visitor centre",
        "Families Outside",
    ]
    for agency in agencies:
        assert agency in names, agency
    every_need = {
        attribute["taxonomy_term_id"] for service in services for attribute in service["attributes"]
    }
    assert every_need == {need_term_id(code) for code in vocabulary.NEEDS if code != "other"}


def test_every_seed_organisation_has_its_agency_type():
    organizations = {
        service["organization"]["name"]: service["organization"] for service in seed_services()
    }
    assert all(
        org.get("x_agency_type") in vocabulary.AGENCY_TYPES for org in organizations.values()
    )
    statutory = {name for name, org in organizations.items() if org["x_agency_type"] == "statutory"}
    assert {"Scottish Prison Service", "Department for Work and Pensions"} < statutory
    assert "Glasgow City Council" in statutory
    assert "Glasgow City Health and Social Care Partnership" in statutory
    voluntary = set(organizations) - statutory
    for charity in ["Families Outside", "Scottish Women's Aid", "Cruse Scotland"]:
        assert charity in voluntary
    assert "Citizens Advice Scotland" in voluntary
    assert all("Council" not in name and "Partnership" not in name for name in voluntary)


ORGANIZATION = {"name": "Inverclyde Family Support", "description": "Support for families."}


@pytest.mark.parametrize("agency_type", ["statutory", "voluntary", "other"])
def test_an_organisation_is_of_an_agency_type_in_the_vocabulary(agency_type):
    organization = {**ORGANIZATION, "x_agency_type": agency_type}
    assert OrganizationSchema().load(organization)["x_agency_type"] == agency_type


def test_an_organisation_without_an_agency_type_loads_without_one():
    """Older import files lack it; reporting reads its absence as "not recorded", and an
    import lacking it leaves the type already stored as it was."""
    assert "x_agency_type" not in OrganizationSchema().load(ORGANIZATION)


@pytest.mark.parametrize("agency_type", ["Statutory", "charity", "", None, 1])
def test_an_agency_type_outside_the_vocabulary_is_refused_naming_the_field(agency_type):
    organization = {**ORGANIZATION, "x_agency_type": agency_type}
    errors = OrganizationSchema().validate(organization)
    assert list(errors) == ["x_agency_type"]
    if isinstance(agency_type, str):
        assert errors["x_agency_type"] == [
            "x_agency_type must be one of: statutory, voluntary, other."
        ]
    [service] = [s for s in seed_services() if s["name"] == "Cruse bereavement helpline"]
    nested = {**service, "organization": {**service["organization"], **organization}}
    # as an import file or an event is read: the pointer leads to the field
    assert field_errors(NestedServiceSchema().validate(nested)) == [
        {"pointer": "/organization/x_agency_type", "detail": errors["x_agency_type"][0]}
    ]


def test_every_seed_phone_number_is_from_ofcoms_drama_ranges():
    drama = re.compile(r"^(0141 496 0\d{3}|01632 960\d{3}|0808 157 0\d{3})$")

    def numbers(value):  # every "number" anywhere: services, contacts, locations
        if isinstance(value, dict):
            own = [value["number"]] if "number" in value else []
            return own + [found for inner in value.values() for found in numbers(inner)]
        if isinstance(value, list):
            return [found for inner in value for found in numbers(inner)]
        return []

    found = numbers(seed_services())
    assert len(found) > 100 and all(drama.match(number) for number in found), found
