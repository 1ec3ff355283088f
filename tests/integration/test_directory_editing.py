"""Editors change the directory over HTTP: roles are checked, each change is recorded
(HSDS metadata) and announced through the outbox, and bad input changes nothing."""

from __future__ import annotations

import json

import pytest

from backbone import logs, outbox
from backbone.events.envelope import decode, encode
from services.directory.taxonomy import need_term_id
from tests.integration.conftest import editor_key

REFUGE_STREET = "99 Hidden Wynd"
REFUGE_POSTCODE = "G4 0ZZ"


@pytest.fixture
def editor(directory_app):
    return editor_key(directory_app, "editor")


@pytest.fixture
def safeguarding_editor(directory_app):
    return editor_key(directory_app, "editor", "safeguarding")


def organization(client, headers, name="Inverclyde Family Support") -> str:
    response = client.post(
        "/organizations",
        json={"name": name, "description": "Support for families in Inverclyde."},
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def service_body(org_id: str, **changes) -> dict:
    return {
        "organization_id": org_id,
        "name": "Family drop-in, Greenock",
        "description": "A weekly drop-in for families with a relative in prison.",
        "phones": [{"number": "01632 960123"}],
        "service_areas": [{"name": "Inverclyde"}],
        "attributes": [{"taxonomy_term_id": need_term_id("family_relationships")}],
        **changes,
    }


def create_service(client, headers, **changes) -> dict:
    org_id = organization(client, headers)
    response = client.post("/services", json=service_body(org_id, **changes), headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def events_of(directory, service_id: str) -> list[dict]:
    return directory.services.find_one({"_id": service_id})["outbox"]


def counts(directory) -> tuple[int, ...]:
    return (
        directory.services.count_documents({}),
        directory.organizations.count_documents({}),
        directory.locations.count_documents({}),
        directory.metadata.count_documents({}),
        outbox.backlog([directory.services]).events,
    )


def test_a_new_service_is_published_with_who_added_it_and_when(directory_client, directory, editor):
    service = create_service(directory_client, editor)

    assert service["organization"]["name"] == "Inverclyde Family Support"
    assert service["attributes"][0]["taxonomy_term"]["name"] == "Family relationships"
    assert service["phones"][0]["id"]  # every nested object gets an HSDS id
    [event] = events_of(directory, service["id"])
    assert (event["type"], event["subject"]) == ("ServicePublished", service["id"])
    change = event["data"]["change"]
    assert change["action"] == "create"
    assert change["by"]["name"] == "Directory Editor"
    assert change["at"] == service["last_modified"]
    assert event["data"]["service"]["name"] == "Family drop-in, Greenock"
    decode(encode(event))  # it passes the catalogue's checks, as a consumer will run them


def test_an_update_records_each_field_before_and_after(directory_client, directory, editor):
    service = create_service(directory_client, editor)
    response = directory_client.patch(
        f"/services/{service['id']}",
        json={"name": "Family drop-in, Port Glasgow", "email": "dropin@example.org"},
        headers=editor,
    )
    assert response.status_code == 200
    assert response.get_json()["name"] == "Family drop-in, Port Glasgow"

    history = directory_client.get(
        f"/metadata?resource_id={service['id']}", headers=editor
    ).get_json()
    assert [(record["last_action_type"], record["field_name"]) for record in history] == [
        ("create", ""),
        ("update", "email"),
        ("update", "name"),
    ]
    name_change = history[2]
    assert name_change["previous_value"] == "Family drop-in, Greenock"
    assert name_change["replacement_value"] == "Family drop-in, Port Glasgow"
    assert name_change["updated_by"] == history[0]["updated_by"]
    published, updated = events_of(directory, service["id"])
    assert (published["type"], updated["type"]) == ("ServicePublished", "ServiceUpdated")
    assert [field["field_name"] for field in updated["data"]["change"]["fields_changed"]] == [
        "email",
        "name",
    ]


def test_an_update_that_changes_nothing_records_and_announces_nothing(
    directory_client, directory, editor
):
    service = create_service(directory_client, editor)
    before = counts(directory)
    response = directory_client.patch(
        f"/services/{service['id']}", json={"name": service["name"]}, headers=editor
    )
    assert response.status_code == 200
    assert counts(directory) == before


def test_a_withdrawn_service_leaves_the_lists_and_is_announced(directory_client, directory, editor):
    service = create_service(directory_client, editor)
    response = directory_client.delete(f"/services/{service['id']}", headers=editor)
    assert response.status_code == 200
    assert response.get_json()["status"] == "inactive"
    assert directory_client.get("/services").get_json()["total_items"] == 0
    assert events_of(directory, service["id"])[-1]["type"] == "ServiceWithdrawn"


def test_changing_an_organisation_announces_each_of_its_services(
    directory_client, directory, editor
):
    service = create_service(directory_client, editor)
    org_id = service["organization"]["id"]
    response = directory_client.patch(
        f"/organizations/{org_id}", json={"name": "Inverclyde Families Together"}, headers=editor
    )
    assert response.status_code == 200
    event = events_of(directory, service["id"])[-1]
    assert event["type"] == "ServiceUpdated"
    assert event["data"]["service"]["organization"]["name"] == "Inverclyde Families Together"
    assert event["data"]["change"]["resource_type"] == "organization"
    # the new name is searchable at once
    found = directory_client.get("/services?search=together").get_json()
    assert [listed["id"] for listed in found["contents"]] == [service["id"]]

    directory_client.delete(f"/organizations/{org_id}", headers=editor)
    assert events_of(directory, service["id"])[-1]["type"] == "ServiceWithdrawn"
    assert directory_client.get(f"/services/{service['id']}").get_json()["status"] == "inactive"


def test_an_organisations_agency_type_is_stored_returned_and_announced(
    directory_client, directory, editor
):
    created = directory_client.post(
        "/organizations",
        json={
            "name": "Inverclyde Council",
            "description": "The local authority for Inverclyde.",
            "x_agency_type": "statutory",
        },
        headers=editor,
    )
    assert created.status_code == 201, created.get_json()
    org_id = created.get_json()["id"]
    assert created.get_json()["x_agency_type"] == "statutory"
    assert directory.organizations.find_one({"_id": org_id})["x_agency_type"] == "statutory"
    response = directory_client.post("/services", json=service_body(org_id), headers=editor)
    service_id = response.get_json()["id"]
    fetched = directory_client.get(f"/services/{service_id}").get_json()
    assert fetched["organization"]["x_agency_type"] == "statutory"

    changed = directory_client.patch(
        f"/organizations/{org_id}", json={"x_agency_type": "other"}, headers=editor
    )
    assert changed.status_code == 200
    assert directory_client.get(f"/organizations/{org_id}").get_json()["x_agency_type"] == "other"
    assert (
        directory_client.get(f"/services/{service_id}").get_json()["organization"]["x_agency_type"]
        == "other"
    )
    directory_client.delete(f"/services/{service_id}", headers=editor)

    events = events_of(directory, service_id)
    assert [
        (event["type"], event["data"]["service"]["organization"]["x_agency_type"])
        for event in events
    ] == [
        ("ServicePublished", "statutory"),
        ("ServiceUpdated", "other"),
        ("ServiceWithdrawn", "other"),
    ]
    assert [decode(encode(event)).data for event in events]  # the catalogue's checks pass
    history = directory_client.get(f"/metadata?resource_id={org_id}", headers=editor).get_json()
    assert ("x_agency_type", "statutory", "other") in [
        (r["field_name"], r["previous_value"], r["replacement_value"]) for r in history
    ]


@pytest.mark.parametrize("method", ["post", "patch"])
def test_an_agency_type_outside_the_vocabulary_is_refused(
    directory_client, directory, editor, method
):
    org_id = organization(directory_client, editor)
    before = counts(directory)
    body = {"name": "Somewhere", "description": "Something.", "x_agency_type": "charity"}
    path = "/organizations" if method == "post" else f"/organizations/{org_id}"
    response = getattr(directory_client, method)(path, json=body, headers=editor)
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {
            "pointer": "/x_agency_type",
            "detail": "x_agency_type must be one of: statutory, voluntary, other.",
        }
    ]
    assert counts(directory) == before


def test_a_withdrawn_location_leaves_the_services_offered_there(
    directory_client, directory, editor
):
    location = directory_client.post(
        "/locations", json={"name": "Greenock community centre"}, headers=editor
    ).get_json()
    service = create_service(
        directory_client, editor, service_at_locations=[{"location_id": location["id"]}]
    )
    assert service["service_at_locations"][0]["location"]["name"] == "Greenock community centre"

    assert (
        directory_client.delete(f"/locations/{location['id']}", headers=editor).status_code == 200
    )
    after = directory_client.get(f"/services/{service['id']}").get_json()
    assert after["service_at_locations"] == []
    assert events_of(directory, service["id"])[-1]["type"] == "ServiceUpdated"


def test_writes_need_an_editor(directory_client, directory, directory_app):
    org_id = organization(directory_client, editor_key(directory_app, "editor"))
    before = counts(directory)
    body = service_body(org_id)

    assert directory_client.post("/services", json=body).status_code == 401
    bad_key = {"Authorization": "Bearer fte_not-a-key"}
    assert directory_client.post("/services", json=body, headers=bad_key).status_code == 401
    reader = editor_key(directory_app, "safeguarding")  # may see addresses, not change things
    response = directory_client.post("/services", json=body, headers=reader)
    assert response.status_code == 403
    assert "editor" in response.get_json()["detail"]
    assert directory_client.get(f"/metadata?resource_id={org_id}").status_code == 401
    assert counts(directory) == before


def test_a_revoked_editor_is_refused(directory_client, directory_app):
    editors = directory_app.extensions["editors"]
    editor, key = editors.create("Leaving Editor", roles=["editor"])
    editors.revoke(editor["_id"])
    response = directory_client.post(
        "/organizations",
        json={"name": "X", "description": "Y"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("changes", "pointer"),
    [
        ({"attributes": [{"taxonomy_term_id": "no-such-need"}]}, "/attributes/0/taxonomy_term_id"),
        ({"organization_id": "no-such-org"}, "/organization_id"),
        (
            {"service_at_locations": [{"location_id": "nowhere"}]},
            "/service_at_locations/0/location_id",
        ),
        ({"service_areas": [{"name": "Atlantis"}]}, "/service_areas/0/name"),
        ({"phones": [{"number": "call me"}]}, "/phones/0/number"),
        ({"status": "open"}, "/status"),
        ({"name": ""}, "/name"),
        ({"colour": "blue"}, "/colour"),
        ({"schedules": [{"opens_at": "25:00"}]}, "/schedules/0/opens_at"),
        ({"name": " \n "}, "/name"),
        ({"name": "Cruse\x1b[2J"}, "/name"),
        ({"name": "Cruse \ud800"}, "/name"),
        ({"description": "Nul\x00byte"}, "/description"),
        ({"phones": [{"number": "0141 496 0000\n"}]}, "/phones/0/number"),
        ({"minimum_age": 1.5}, "/minimum_age"),
        ({"minimum_age": "5"}, "/minimum_age"),
        ({"organization_id": "\ud800"}, "/organization_id"),
    ],
)
def test_a_bad_service_is_refused_with_the_field_and_why_and_nothing_changes(
    directory_client, directory, editor, changes, pointer
):
    org_id = organization(directory_client, editor)
    before = counts(directory)
    response = directory_client.post(
        "/services", json=service_body(org_id, **changes), headers=editor
    )
    assert response.status_code == 422
    assert [error["pointer"] for error in response.get_json()["errors"]] == [pointer]
    assert counts(directory) == before


def test_a_body_that_is_not_one_json_object_is_refused(directory_client, directory, editor):
    before = counts(directory)
    send = directory_client.post
    assert (
        send(
            "/organizations", data="{", headers=editor, content_type="application/json"
        ).status_code
        == 400
    )
    assert send("/organizations", json=[1], headers=editor).status_code == 400
    assert send("/organizations", data="name=x", headers=editor).status_code == 415
    twice = send(
        "/organizations",
        data='{"name": "A", "name": "B", "description": "C"}',
        headers=editor,
        content_type="application/json",
    )
    assert twice.status_code == 400
    assert twice.get_json()["detail"] == "The key 'name' is given twice."
    assert directory_client.patch("/services/nope", json={}, headers=editor).status_code == 404
    assert counts(directory) == before


def test_a_confidential_address_is_in_no_public_answer_no_event_and_no_log(
    directory_client, directory, directory_app, editor, safeguarding_editor, capsys
):
    logs.configure("directory", "DEBUG")  # as a service runs with LOG_LEVEL=DEBUG
    refuge = {
        "name": "Refuge, Inverclyde",
        "x_confidential": True,
        "x_safe_contact": "Through the domestic abuse helpline.",
        "description": "Behind the health centre on Hidden Wynd",
        "phones": [{"number": "01632 960999"}],
        "latitude": 55.95,
        "longitude": -4.76,
        "addresses": [
            {"address_1": REFUGE_STREET, "city": "Glasgow", "postal_code": REFUGE_POSTCODE}
        ],
    }
    # an editor without the safeguarding role may not handle a refuge's address
    assert directory_client.post("/locations", json=refuge, headers=editor).status_code == 403
    location = directory_client.post("/locations", json=refuge, headers=safeguarding_editor)
    assert location.status_code == 201
    location_id = location.get_json()["id"]
    service = create_service(
        directory_client, editor, service_at_locations=[{"location_id": location_id}]
    )
    moved = {
        "addresses": [{"address_1": "1 Other Close", "city": "Glasgow", "postal_code": "G5 9ZZ"}],
        "description": "Near Other Close",
    }
    assert (
        directory_client.patch(f"/locations/{location_id}", json=moved, headers=editor).status_code
        == 403
    )
    assert (
        directory_client.patch(
            f"/locations/{location_id}", json=moved, headers=safeguarding_editor
        ).status_code
        == 200
    )

    public = [
        directory_client.get(f"/services/{service['id']}").data,
        directory_client.get("/services").data,
        directory_client.get("/services?format=ndjson").data,
        directory_client.get(f"/locations/{location_id}").data,
        directory_client.get(f"/services/{service['id']}", headers=editor).data,
    ]
    events = json.dumps(events_of(directory, service["id"]))
    history = json.dumps(list(directory.metadata.find({"resource_id": location_id})), default=str)
    log = capsys.readouterr().err
    assert log.count('"request answered"') >= len(public)  # the log was read, and is JSON
    secrets = [
        REFUGE_STREET,
        REFUGE_POSTCODE,
        "1 Other Close",
        "G5 9ZZ",
        "55.95",
        "-4.76",
        "Hidden Wynd",
        "Other Close",
        "01632 960999",
    ]
    for secret in secrets:
        for answer in public:
            assert secret.encode() not in answer
        assert secret not in events
        assert secret not in history
        assert secret not in log
    nested = json.loads(public[0])["service_at_locations"][0]["location"]
    assert nested["x_safe_contact"] == "Through the domestic abuse helpline."

    # the safeguarding role sees where it is
    seen = directory_client.get(f"/services/{service['id']}", headers=safeguarding_editor)
    address = seen.get_json()["service_at_locations"][0]["location"]["addresses"][0]
    assert address["address_1"] == "1 Other Close"


def test_a_service_edited_meanwhile_is_a_conflict_and_nothing_is_written(
    directory_client, directory, editor, monkeypatch
):
    service = create_service(directory_client, editor)
    write = directory.in_transaction

    def another_editor_first(change):
        directory.services.update_one({"_id": service["id"]}, {"$inc": {"version": 1}})
        return write(change)

    monkeypatch.setattr(directory, "in_transaction", another_editor_first)
    before = counts(directory)
    for path, body in [
        (f"/services/{service['id']}", {"name": "Mine"}),
        (f"/organizations/{service['organization']['id']}", {"name": "Ours"}),
    ]:
        response = directory_client.patch(path, json=body, headers=editor)
        assert response.status_code == 409
    assert counts(directory) == before
    monkeypatch.undo()
    after = directory_client.get(f"/services/{service['id']}").get_json()
    assert (after["name"], after["organization"]["name"]) == (
        service["name"],
        "Inverclyde Family Support",
    )


def test_withdrawing_a_confidential_location_needs_safeguarding(
    directory_client, directory, editor, safeguarding_editor
):
    refuge = {"name": "Refuge", "x_confidential": True, "x_safe_contact": "Call the helpline."}
    location = directory_client.post("/locations", json=refuge, headers=safeguarding_editor)
    path = f"/locations/{location.get_json()['id']}"
    assert directory_client.delete(path, headers=editor).status_code == 403
    assert directory.locations.find_one({"_id": location.get_json()["id"]})["withdrawn_at"] is None
    assert directory_client.delete(path, headers=safeguarding_editor).status_code == 200


def test_an_editor_cannot_change_a_location_flagged_confidential_while_they_write(
    directory_client, directory, editor, monkeypatch
):
    hall = {
        "name": "Hall",
        "addresses": [
            {"address_1": REFUGE_STREET, "city": "Greenock", "postal_code": REFUGE_POSTCODE}
        ],
    }
    location_id = directory_client.post("/locations", json=hall, headers=editor).get_json()["id"]
    read = directory.locations.find_one

    def flagged_right_after_the_first_read(*args, **kwargs):
        found = read(*args, **kwargs)
        monkeypatch.setattr(directory.locations, "find_one", read)
        # a safeguarding editor makes it a refuge between this request's read and its write
        directory.locations.update_one(
            {"_id": location_id}, {"$set": {"x_confidential": True}, "$inc": {"version": 1}}
        )
        return found

    monkeypatch.setattr(directory.locations, "find_one", flagged_right_after_the_first_read)
    unflag = {"x_confidential": False, "name": "Hall, renamed"}
    response = directory_client.patch(f"/locations/{location_id}", json=unflag, headers=editor)
    assert response.status_code == 409  # written from a read that is no longer current
    assert directory.locations.find_one({"_id": location_id})["x_confidential"] is True
    public = directory_client.get(f"/locations/{location_id}").get_data(as_text=True)
    assert REFUGE_STREET not in public


@pytest.mark.parametrize("kind", ["services", "organizations", "locations"])
def test_a_change_made_from_a_stale_read_is_refused_with_412(
    directory_client, directory, editor, kind
):
    service = create_service(directory_client, editor)
    resource = {
        "services": service["id"],
        "organizations": service["organization"]["id"],
        "locations": directory_client.post(
            "/locations", json={"name": "Hall"}, headers=editor
        ).get_json()["id"],
    }[kind]
    path = f"/{kind}/{resource}"
    read = directory_client.get(path)
    assert read.headers["ETag"] == '"1"'
    changed = directory_client.patch(
        path, json={"name": "Renamed"}, headers=editor | {"If-Match": read.headers["ETag"]}
    )
    assert changed.status_code == 200
    assert changed.headers["ETag"] == '"2"'

    before = counts(directory)
    for stale in (
        directory_client.patch(path, json={"name": "Mine"}, headers=editor | {"If-Match": '"1"'}),
        directory_client.delete(path, headers=editor | {"If-Match": '"1"'}),
        directory_client.delete(path, headers=editor | {"If-Match": 'W/"2"'}),  # weak: never
        directory_client.delete(path, headers=editor | {"If-Match": '""'}),
    ):
        assert stale.status_code == 412
        assert stale.mimetype == "application/problem+json"
    assert counts(directory) == before
    assert directory_client.get(path).get_json()["name"] == "Renamed"
    anything = directory_client.patch(
        path, json={"name": "Any"}, headers=editor | {"If-Match": "*"}
    )
    assert anything.status_code == 200


def test_a_location_made_confidential_keeps_no_address_in_its_history(
    directory_client, editor, safeguarding_editor
):
    hall = {
        "name": "Hall",
        "addresses": [{"address_1": "1 Other Close", "city": "Greenock", "postal_code": "G5 9ZZ"}],
    }
    location_id = directory_client.post("/locations", json=hall, headers=editor).get_json()["id"]
    moved = {
        "addresses": [
            {"address_1": REFUGE_STREET, "city": "Greenock", "postal_code": REFUGE_POSTCODE}
        ],
        "latitude": 55.95,
    }
    path = f"/locations/{location_id}"
    assert directory_client.patch(path, json=moved, headers=editor).status_code == 200
    history = f"/metadata?resource_id={location_id}"
    assert REFUGE_STREET in directory_client.get(history, headers=editor).get_data(as_text=True)

    flag = {"x_confidential": True, "x_safe_contact": "Through the domestic abuse helpline."}
    assert directory_client.patch(path, json=flag, headers=safeguarding_editor).status_code == 200

    records = directory_client.get(history, headers=editor).get_json()
    text = json.dumps(records)
    for secret in (REFUGE_STREET, REFUGE_POSTCODE, "1 Other Close", "G5 9ZZ", "55.95"):
        assert secret not in text
    assert {record["field_name"] for record in records} >= {
        "addresses",
        "latitude",
        "x_confidential",
    }


@pytest.mark.parametrize(
    ("path", "body", "pointer"),
    [
        ("/services/{service}", {"attributes": [{}]}, "/attributes/0/taxonomy_term_id"),
        (
            "/services/{service}",
            {"service_at_locations": [{}]},
            "/service_at_locations/0/location_id",
        ),
        ("/services/{service}", {"service_areas": [{}]}, "/service_areas/0/name"),
        ("/services/{service}", {"phones": [{}]}, "/phones/0/number"),
        ("/services/{service}", {"name": None}, "/name"),
        ("/locations/{location}", {"addresses": [{}]}, "/addresses/0/address_1"),
        ("/locations/{location}", {"latitude": "55.86"}, "/latitude"),
        ("/locations/{location}", {"name": "Hall\ud800"}, "/name"),
    ],
)
def test_a_patch_with_an_incomplete_nested_object_is_refused(
    directory_client, directory, editor, path, body, pointer
):
    location = directory_client.post("/locations", json={"name": "Hall"}, headers=editor)
    service = create_service(directory_client, editor)
    before = counts(directory)
    url = path.format(service=service["id"], location=location.get_json()["id"])
    response = directory_client.patch(url, json=body, headers=editor)
    assert response.status_code == 422
    assert pointer in [error["pointer"] for error in response.get_json()["errors"]]
    assert counts(directory) == before


def test_a_withdrawn_service_is_kept_for_the_record_and_not_changed(
    directory_client, directory, editor
):
    service = create_service(directory_client, editor)
    directory_client.delete(f"/services/{service['id']}", headers=editor)
    before = counts(directory)
    response = directory_client.patch(
        f"/services/{service['id']}", json={"status": "active"}, headers=editor
    )
    assert response.status_code == 409
    assert counts(directory) == before
    assert directory_client.delete(f"/services/{service['id']}", headers=editor).status_code == 200
    assert counts(directory) == before  # withdrawing again changes nothing


def test_a_withdrawn_organisation_shows_in_each_of_its_services_history(directory_client, editor):
    service = create_service(directory_client, editor)
    directory_client.delete(f"/organizations/{service['organization']['id']}", headers=editor)
    history = directory_client.get(
        f"/metadata?resource_id={service['id']}", headers=editor
    ).get_json()
    assert [
        (record["last_action_type"], record["field_name"], record["replacement_value"])
        for record in history
    ][-1] == ("delete", "status", "inactive")
    assert history[-1]["x_updated_by_name"] == "Directory Editor"
