"""The directory's repository against the real database: the listing's numbers and
blocks under concurrent and withdrawn services, and documents stored by an earlier
version given what search reads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from services.directory import repository, search
from services.directory.editors import operator
from services.directory.search import ServiceSearch
from services.directory.taxonomy import need_term_id

EDITOR = operator("test", "Test Editor")


@pytest.fixture
def operations(directory_app):
    return directory_app.extensions["operations"]


@pytest.fixture
def organization_id(operations) -> str:
    return operations.create_organization({"name": "Clyde Trust", "description": "X."}, EDITOR)


def add(operations, organization_id: str, name: str, area: str = "Inverclyde") -> str:
    body = {  # as the write API's schema leaves it
        "organization_id": organization_id,
        "name": name,
        "status": "active",
        "description": "Support after a bereavement, for families of people in prison.",
        "service_areas": [{"name": area}],
        "attributes": [{"taxonomy_term_id": need_term_id("bereavement")}],
    }
    return operations.create_service(body, EDITOR)


def listing(directory, per_page: int) -> list[str]:
    """The whole listing, a page at a time, as GET /services reads it."""
    total, _ = directory.search_services(ServiceSearch(), 0, 1)
    skips = range(0, total, per_page)
    pages = [directory.search_services(ServiceSearch(), skip, per_page) for skip in skips]
    assert {found_total for found_total, _ in pages} == {total}
    return [service_id for _, ids in pages for service_id in ids]


def test_services_added_at_once_each_get_a_place_of_their_own(
    operations, directory, organization_id
):
    with ThreadPoolExecutor(6) as pool:
        added = list(
            pool.map(lambda number: add(operations, organization_id, f"Drop-in {number}"), range(6))
        )
    numbers = [directory.resource("service", added_id)["listing_number"] for added_id in added]
    assert sorted(numbers) == list(range(6))
    assert sorted(listing(directory, 4)) == sorted(added)


def test_the_listing_pages_past_withdrawn_services_and_across_blocks(
    operations, directory, organization_id, monkeypatch
):
    monkeypatch.setattr(repository, "LISTING_BLOCK", 3)
    monkeypatch.setattr(search, "LISTING_BLOCK", 3)
    added = [add(operations, organization_id, f"Service {number}") for number in range(11)]
    withdrawn = {added[3], added[4], added[5], added[7]}  # all of the second block, and one
    for service_id in withdrawn:
        operations.withdraw_service(service_id, EDITOR)
    current = [service_id for service_id in added if service_id not in withdrawn]
    for per_page in (1, 2, 3, 5, 100):
        assert listing(directory, per_page) == current
    assert directory.search_services(ServiceSearch(), 7, 5) == (7, [])


def test_documents_stored_by_an_earlier_version_are_given_what_search_reads(
    operations, directory, organization_id
):
    first, second = (add(operations, organization_id, name) for name in ("Cruse", "Helpline"))
    operations.withdraw_service(second, EDITOR)
    derived = ["area_codes", "sort_name", "word_weights", "area_words"]
    directory.services.update_many(
        {},
        {"$unset": dict.fromkeys([*derived, "listing_number"], ""), "$set": {"search_text": "x"}},
    )
    directory.organizations.update_many({}, {"$unset": {"sort_name": "", "name_prefixes": ""}})
    directory.bookkeeping.delete_many({})

    assert operations.derive_missing_fields() == 3  # two services and their organisation
    assert directory.services.count_documents({"search_text": {"$exists": True}}) == 0
    assert directory.resource("service", second)["listing_number"] is None  # withdrawn
    found = ServiceSearch(words=["bereav", "cru"], local_authorities=["INVERCLYDE"])
    assert directory.search_services(found) == (1, [first])
    assert directory.search_services(ServiceSearch()) == (1, [first])
    assert operations.derive_missing_fields() == 0
