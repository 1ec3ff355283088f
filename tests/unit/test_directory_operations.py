"""The directory's service layer, each rule checked over an in-memory repository: roles,
versions, withdrawn resources, references, confidential history, and the events and
records every change leaves. The same rules over the real database: the integration
tests (tests/integration/test_directory_editing.py)."""

from __future__ import annotations

import json

import pytest

from backbone.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotAllowed,
    NotFound,
    NotTheVersionRead,
    Withdrawn,
)
from services.directory import domain
from services.directory.operations import DirectoryOperations
from services.directory.taxonomy import need_term_id
from tests.unit.fake_directory import FakeDirectory

EDITOR = {"id": "e1", "name": "Alex Editor", "roles": ["editor"]}
SAFEGUARDING = {"id": "e2", "name": "Sam Safeguarding", "roles": ["editor", "safeguarding"]}
HIDDEN_STREET = "99 Hidden Wynd"
REFUGE = {
    "name": "Refuge, Inverclyde",
    "x_confidential": True,
    "x_safe_contact": "Through the domestic abuse helpline.",
    "addresses": [{"address_1": HIDDEN_STREET, "city": "Greenock", "postal_code": "G4 0ZZ"}],
}


@pytest.fixture
def directory() -> FakeDirectory:
    return FakeDirectory()


@pytest.fixture
def operations(directory) -> DirectoryOperations:
    return DirectoryOperations(directory)


def organization(operations, name="Inverclyde Family Support") -> str:
    return operations.create_organization({"name": name, "description": "Support."}, EDITOR)


def service(operations, organization_id=None, **changes) -> str:
    body = {
        "organization_id": organization_id or organization(operations),
        "name": "Family drop-in, Greenock",
        "description": "A weekly drop-in for families with a relative in prison.",
        "status": "active",
        "service_areas": [{"name": "Inverclyde"}],
        "attributes": [{"taxonomy_term_id": need_term_id("family_relationships")}],
        **changes,
    }
    return operations.create_service(body, EDITOR)


def written(directory) -> str:
    """Everything stored, to show that a refused change wrote nothing."""
    return json.dumps([directory.stored, directory.metadata], sort_keys=True, default=str)


# ---- events and records ---------------------------------------------------------------


def test_a_new_service_is_announced_and_recorded(operations, directory):
    service_id = service(operations)
    [event] = directory.events_of(service_id)
    assert (event["type"], event["subject"]) == ("ServicePublished", service_id)
    assert event["data"]["service"]["organization"]["name"] == "Inverclyde Family Support"
    assert event["data"]["change"]["by"] == {"id": "e1", "name": "Alex Editor"}
    [record] = operations.history(service_id)
    assert (record["last_action_type"], record["x_updated_by_name"]) == ("create", "Alex Editor")


def test_an_update_records_each_field_and_announces_them(operations, directory):
    service_id = service(operations)
    changed = {"name": "Family drop-in, Port Glasgow", "email": "dropin@example.org"}
    assert operations.update_service(service_id, changed, EDITOR) is True
    history = operations.history(service_id)
    assert [(record["field_name"], record["replacement_value"]) for record in history[1:]] == [
        ("email", "dropin@example.org"),
        ("name", "Family drop-in, Port Glasgow"),
    ]
    assert history[2]["previous_value"] == "Family drop-in, Greenock"
    updated = directory.events_of(service_id)[-1]
    assert updated["type"] == "ServiceUpdated"
    assert [field["field_name"] for field in updated["data"]["change"]["fields_changed"]] == [
        "email",
        "name",
    ]


def test_an_update_that_changes_nothing_writes_nothing(operations, directory):
    service_id = service(operations)
    before = written(directory)
    assert operations.update_service(service_id, {"name": "Family drop-in, Greenock"}, EDITOR) is (
        False
    )
    assert written(directory) == before


def test_changing_an_organisation_announces_and_records_each_of_its_services(operations, directory):
    organization_id = organization(operations)
    services = [service(operations, organization_id, name=name) for name in ("Drop-in", "Helpline")]
    operations.update_organization(organization_id, {"name": "Families Together"}, EDITOR)
    for service_id in services:
        event = directory.events_of(service_id)[-1]
        assert event["type"] == "ServiceUpdated"
        assert event["data"]["service"]["organization"]["name"] == "Families Together"
        assert event["data"]["change"]["resource_type"] == "organization"
    # the new name is searched at once
    found = operations.service_search({"search": "together"})
    assert operations.page_of_services(found, 1, 20, False)["total_items"] == 2

    operations.withdraw_organization(organization_id, EDITOR)
    for service_id in services:
        assert directory.events_of(service_id)[-1]["type"] == "ServiceWithdrawn"
        last = operations.history(service_id)[-1]
        assert (last["last_action_type"], last["field_name"]) == ("delete", "status")
        assert operations.service(service_id, False)[0]["status"] == "inactive"


def test_a_withdrawn_location_leaves_its_services_which_are_announced(operations, directory):
    location_id = operations.create_location({"name": "Community centre"}, EDITOR)
    service_id = service(operations, service_at_locations=[{"location_id": location_id}])
    operations.withdraw_location(location_id, EDITOR)
    shown, _ = operations.service(service_id, False)
    assert shown["service_at_locations"] == []
    assert directory.events_of(service_id)[-1]["type"] == "ServiceUpdated"


# ---- refusals -------------------------------------------------------------------------


def test_references_to_what_does_not_exist_are_refused_with_pointers(operations, directory):
    gone = organization(operations, "Closed Trust")
    operations.withdraw_organization(gone, EDITOR)
    before = written(directory)
    with pytest.raises(Invalid) as refused:
        service(
            operations,
            gone,
            attributes=[{"taxonomy_term_id": "no-such-need"}],
            service_at_locations=[{"location_id": "nowhere"}],
        )
    assert refused.value.status == 422
    assert refused.value.errors == [
        {"pointer": "/organization_id", "detail": "No current organisation has this id."},
        {"pointer": "/attributes/0/taxonomy_term_id", "detail": "No taxonomy term has this id."},
        {
            "pointer": "/service_at_locations/0/location_id",
            "detail": "No current location has this id.",
        },
    ]
    assert written(directory) == before


@pytest.mark.parametrize("kind", ["service", "organization", "location"])
def test_a_change_to_another_version_than_the_one_read_is_refused(operations, directory, kind):
    service_id = service(operations)
    resource_id = {
        "service": service_id,
        "organization": operations.service(service_id, False)[0]["organization"]["id"],
        "location": operations.create_location({"name": "Hall"}, EDITOR),
    }[kind]
    update = getattr(operations, f"update_{kind}")
    assert update(resource_id, {"name": "Renamed"}, EDITOR, frozenset({1})) is True
    before = written(directory)
    with pytest.raises(NotTheVersionRead) as refused:
        update(resource_id, {"name": "Mine"}, EDITOR, frozenset({1}))
    assert refused.value.status == 412
    assert "has changed since the version named in If-Match" in refused.value.detail
    with pytest.raises(NotTheVersionRead):
        getattr(operations, f"withdraw_{kind}")(resource_id, EDITOR, frozenset())
    assert written(directory) == before
    assert update(resource_id, {"name": "Any"}, EDITOR, None) is True


def test_a_withdrawn_service_is_kept_and_not_changed(operations, directory):
    service_id = service(operations)
    assert operations.withdraw_service(service_id, EDITOR) is True
    before = written(directory)
    with pytest.raises(Withdrawn) as refused:
        operations.update_service(service_id, {"status": "active"}, EDITOR)
    assert refused.value.status == 409
    assert operations.withdraw_service(service_id, EDITOR) is False  # again: nothing to do
    assert written(directory) == before


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (lambda ops: ops.update_service("nope", {"name": "X"}, EDITOR), "No service has this id."),
        (lambda ops: ops.organization("nope"), "No organisation has this id."),
        (lambda ops: ops.withdraw_location("nope", EDITOR), "No location has this id."),
        (lambda ops: ops.taxonomy_term("nope"), "No taxonomy term has this id."),
    ],
)
def test_what_does_not_exist_is_not_found(operations, change, detail):
    with pytest.raises(NotFound) as refused:
        change(operations)
    assert (refused.value.status, refused.value.detail) == (404, detail)


def test_a_service_changed_between_read_and_write_is_a_conflict(operations, directory):
    service_id = service(operations)
    write = directory.in_transaction

    def another_editor_first(change):
        directory.stored["service"][service_id]["version"] += 1
        return write(change)

    directory.in_transaction = another_editor_first
    records, events = len(directory.metadata), directory.events_of(service_id)
    organization_id = directory.stored["service"][service_id]["organization_id"]
    with pytest.raises(Conflict) as refused:
        operations.update_service(service_id, {"name": "Mine"}, EDITOR)
    assert refused.value.status == 409
    with pytest.raises(Conflict):  # its organisation's change would rewrite it too
        operations.update_organization(organization_id, {"name": "Ours"}, EDITOR)
    assert (len(directory.metadata), directory.events_of(service_id)) == (records, events)
    assert directory.stored["service"][service_id]["name"] == "Family drop-in, Greenock"
    assert directory.stored["organization"][organization_id]["name"] == (
        "Inverclyde Family Support"
    )


def test_a_taken_id_is_a_conflict(operations):
    organization_id = organization(operations)
    with pytest.raises(Conflict):
        operations.create_organization(
            {"id": organization_id, "name": "Again", "description": "Again."}, EDITOR
        )


# ---- confidential locations -----------------------------------------------------------


def test_only_the_safeguarding_role_creates_or_touches_a_confidential_location(
    operations, directory
):
    with pytest.raises(Forbidden) as refused:
        operations.create_location(REFUGE, EDITOR)
    assert refused.value.detail == "This needs the 'safeguarding' role."
    refuge_id = operations.create_location(REFUGE, SAFEGUARDING)
    before = written(directory)
    for change in (
        lambda: operations.update_location(refuge_id, {"name": "Refuge"}, EDITOR),
        lambda: operations.update_location(refuge_id, {"x_confidential": False}, EDITOR),
        lambda: operations.withdraw_location(refuge_id, EDITOR),
    ):
        with pytest.raises(Forbidden) as refused:
            change()
        assert refused.value.status == 403
    assert written(directory) == before
    assert operations.update_location(refuge_id, {"x_confidential": False}, SAFEGUARDING)


def test_making_a_location_confidential_needs_safeguarding(operations, directory):
    hall_id = operations.create_location({"name": "Hall"}, EDITOR)
    before = written(directory)
    with pytest.raises(Forbidden):
        operations.update_location(hall_id, {"x_confidential": True}, EDITOR)
    assert written(directory) == before
    assert operations.update_location(hall_id, {"x_confidential": True}, SAFEGUARDING)


def test_a_location_flagged_confidential_meanwhile_is_not_overwritten(operations, directory):
    hall_id = operations.create_location({"name": "Hall"}, EDITOR)
    write = directory.in_transaction

    def flagged_first(change):
        directory.stored["location"][hall_id]["x_confidential"] = True
        return write(change)

    directory.in_transaction = flagged_first
    with pytest.raises(Conflict):
        operations.update_location(hall_id, {"name": "Hall, renamed"}, EDITOR)
    assert directory.stored["location"][hall_id]["name"] == "Hall"


def test_a_location_made_confidential_keeps_no_address_in_its_history(operations):
    hall_id = operations.create_location({"name": "Hall"}, EDITOR)
    moved = {"addresses": REFUGE["addresses"], "latitude": 55.95}
    operations.update_location(hall_id, moved, EDITOR)
    assert HIDDEN_STREET in json.dumps(operations.history(hall_id), default=str)

    flag = {"x_confidential": True, "x_safe_contact": "Through the helpline."}
    operations.update_location(hall_id, flag, SAFEGUARDING)
    history = operations.history(hall_id)
    text = json.dumps(history, default=str)
    assert HIDDEN_STREET not in text and "55.95" not in text
    recorded = {record["field_name"]: record["replacement_value"] for record in history}
    assert recorded["addresses"] == recorded["latitude"] == domain.WITHHELD
    assert recorded["x_safe_contact"] == "Through the helpline."  # what the public sees


def test_a_confidential_address_is_in_no_event_and_no_public_read(operations, directory):
    refuge_id = operations.create_location(REFUGE, SAFEGUARDING)
    service_id = service(operations, service_at_locations=[{"location_id": refuge_id}])
    assert HIDDEN_STREET not in json.dumps(directory.events_of(service_id))
    public, _ = operations.location(refuge_id, show_confidential=False)
    assert public == {
        "id": refuge_id,
        "name": "Refuge, Inverclyde",
        "x_confidential": True,
        "x_safe_contact": "Through the domestic abuse helpline.",
    }
    nested, _ = operations.service(service_id, show_confidential=False)
    assert nested["service_at_locations"][0]["location"] == public
    seen, _ = operations.location(refuge_id, show_confidential=True)
    assert seen["addresses"][0]["address_1"] == HIDDEN_STREET


# ---- searching and paging -------------------------------------------------------------


def test_search_pages_and_refuses_a_page_past_the_last(operations):
    organization_id = organization(operations)
    for number in range(5):
        service(operations, organization_id, name=f"Drop-in {number}")
    search = operations.service_search({})
    page = operations.page_of_services(search, 3, 2, False)
    assert [service["name"] for service in page["contents"]] == ["Drop-in 4"]
    assert (page["total_items"], page["total_pages"], page["last_page"]) == (5, 3, True)
    with pytest.raises(NotAllowed) as refused:
        operations.page_of_services(search, 4, 2, False)
    assert refused.value.errors == [{"pointer": "/page", "detail": "There are 3 pages of 2."}]
    assert operations.page_of_services(operations.service_search({"search": "zz"}), 1, 2, False)[
        "empty"
    ]


def test_a_search_for_an_unknown_need_is_refused(operations):
    with pytest.raises(NotAllowed) as refused:
        operations.service_search({"taxonomy_term_id": "not-a-term"})
    assert refused.value.errors[0]["pointer"] == "/taxonomy_term_id"


def test_organisations_are_listed_by_name_and_found_by_the_starts_of_their_words(operations):
    for name in ("Women's Aid", "Cruse Scotland", "carers trust"):
        organization(operations, name)
    query = {"page": 1, "per_page": 10}
    page = operations.page_by_name("organizations", {"withdrawn_at": None}, query)
    assert [organization["name"] for organization in page["contents"]] == [
        "carers trust",
        "Cruse Scotland",
        "Women's Aid",
    ]
    found = operations.page_by_name("organizations", {}, {**query, "search": "scot cru"})
    assert [organization["name"] for organization in found["contents"]] == ["Cruse Scotland"]
    assert "sort_name" not in found["contents"][0]


def test_services_stored_by_an_earlier_version_are_given_what_search_reads(operations, directory):
    service_id = service(operations)
    stored = directory.stored["service"][service_id]
    derived = ("area_codes", "sort_name", "word_weights", "area_words")
    for name in (*derived, "listing_number"):
        del stored[name]
    stored["search_text"] = "Family drop-in, Greenock"
    assert operations.derive_missing_fields() == 1
    assert "search_text" not in directory.stored["service"][service_id]
    assert directory.stored["service"][service_id]["listing_number"] == 1
    for query in ({"search": "greenock"}, {}):
        found = operations.page_of_services(operations.service_search(query), 1, 5, False)
        assert found["total_items"] == 1
    assert operations.derive_missing_fields() == 0  # once done, not looked for again
