"""`familyties directory import|export|editors` against the real database."""

from __future__ import annotations

import json

import pytest

from backbone import outbox
from services.directory.editors import operator
from services.directory.seed import seed_services
from services.directory.taxonomy import need_term_id
from services.directory.worker import load_seed_if_empty


@pytest.fixture
def operations(directory_app):
    return directory_app.extensions["operations"]


@pytest.fixture
def cli(familyties):
    return lambda *args: familyties("directory", *args)


def write_ndjson(path, records) -> None:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))


def test_an_ndjson_file_is_loaded_with_an_event_per_service(cli, directory, tmp_path):
    records = seed_services()[:12]
    path = tmp_path / "directory.ndjson"
    write_ndjson(path, records)

    result = cli("import", str(path))

    assert result.exit_code == 0, result.output
    assert "12 created, 0 updated, 0 unchanged." in result.output
    assert "Loading services" in result.output  # the progress bar
    assert directory.services.count_documents({}) == 12
    assert outbox.backlog([directory.services]).events == 12
    metadata = directory.metadata.find_one({"resource_id": records[0]["id"]})
    assert metadata["x_updated_by_name"] == "familyties directory import directory.ndjson"


def test_importing_the_same_file_again_changes_nothing_and_a_change_is_an_update(
    cli, directory, tmp_path
):
    records = seed_services()[:3]
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(records))
    assert cli("import", str(path)).exit_code == 0
    assert "0 created, 0 updated, 3 unchanged." in cli("import", str(path)).output

    records[1]["description"] = "Now open on Saturdays too."
    path.write_text(json.dumps({"contents": records}))  # an HSDS page is read too
    assert "0 created, 1 updated, 2 unchanged." in cli("import", str(path)).output
    assert outbox.backlog([directory.services]).events == 4


def test_a_file_without_agency_types_leaves_those_recorded_as_they_are(cli, directory, tmp_path):
    records = seed_services()[:3]
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(records))
    assert cli("import", str(path)).exit_code == 0
    older = json.loads(json.dumps(records))  # as a file from before x_agency_type was
    for record in older:
        del record["organization"]["x_agency_type"]
    path.write_text(json.dumps(older))
    assert "0 created, 0 updated, 3 unchanged." in cli("import", str(path)).output
    org_id = records[0]["organization"]["id"]
    assert directory.organizations.find_one({"_id": org_id})["x_agency_type"] == "voluntary"


def test_a_file_with_bad_records_reports_each_and_loads_none(cli, directory, tmp_path):
    records = json.loads(json.dumps(seed_services()[:5]))  # no organisation shared
    records[1]["attributes"].append({"taxonomy_term_id": "no-such-need"})
    del records[3]["organization"]["name"]
    records[4]["phones"][0]["number"] = "not a number"
    path = tmp_path / "bad.ndjson"
    write_ndjson(path, records)

    result = cli("import", str(path))

    assert result.exit_code == 1
    assert "line 2: /attributes/3/taxonomy_term_id: No taxonomy term has this id." in result.output
    assert "line 4: /organization/name: Missing data for required field." in result.output
    assert "line 5: /phones/0/number" in result.output
    assert "3 problems; nothing loaded" in result.output
    assert directory.services.count_documents({}) == 0
    assert directory.organizations.count_documents({}) == 0


def test_every_unreadable_line_is_reported(cli, directory, tmp_path):
    path = tmp_path / "broken.ndjson"
    good = json.dumps(seed_services()[0])
    path.write_text(f"{good}\n{{oops\n{good[:40]}\n[1]\n")
    result = cli("import", str(path))
    assert result.exit_code == 1
    for line in ["line 2: /: Not JSON", "line 3: /: Not JSON", "line 4: /: Expected a JSON"]:
        assert line in result.output
    assert directory.services.count_documents({}) == 0


def test_a_file_touching_a_withdrawn_organisation_is_refused_whole(
    cli, directory, operations, tmp_path
):
    records = json.loads(json.dumps(seed_services()[:2]))
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(records[:1]))
    assert cli("import", str(path)).exit_code == 0
    operations.withdraw_organization(records[0]["organization"]["id"], operator("e", "E"))

    def stored():
        return directory.services.count_documents({}), directory.metadata.count_documents({})

    before = stored()

    path.write_text(json.dumps(records))
    result = cli("import", str(path))

    assert result.exit_code == 1
    assert "record 1: /id: This is withdrawn here" in result.output
    assert "record 1: /organization/id: This is withdrawn here" in result.output
    assert (
        directory.services.count_documents({}),
        directory.metadata.count_documents({}),
    ) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "the file: /: Not JSON"),
        ('{"name": "a lone object"}', "the file: /: Expected a JSON array of services"),
        ("[1, 2]", "record 1: /: Expected a JSON object"),
    ],
)
def test_a_file_that_is_not_a_list_of_services_is_refused(
    cli, directory, tmp_path, content, message
):
    path = tmp_path / "broken.json"
    path.write_text(content)
    result = cli("import", str(path))
    assert result.exit_code == 1
    assert message in result.output
    assert directory.services.count_documents({}) == 0


def test_export_writes_what_import_reads_and_withholds_confidential_addresses(
    cli, directory, tmp_path
):
    records = [
        record
        for record in seed_services()
        if record["name"].startswith(("Refuge", "Family Contact"))
    ]
    source = tmp_path / "source.json"
    source.write_text(json.dumps(records))
    assert cli("import", str(source)).exit_code == 0

    public, full = tmp_path / "public.ndjson", tmp_path / "full.json"
    assert cli("export", str(public)).exit_code == 0
    assert cli("export", str(full), "--include-confidential").exit_code == 0

    exported = [json.loads(line) for line in public.read_text().splitlines()]
    assert len(exported) == len(records)
    refuges = [service for service in exported if service["name"].startswith("Refuge")]
    assert refuges and all(
        "addresses" not in service["service_at_locations"][0]["location"] for service in refuges
    )
    assert "12 Sample Lane" not in public.read_text()
    assert "12 Sample Lane" in full.read_text()
    # the full export is a file the import takes back as it is
    assert "0 created, 0 updated" in cli("import", str(full)).output
    assert {service["id"] for service in json.loads(full.read_text())} == {
        record["id"] for record in records
    }
    assert need_term_id("domestic_abuse") in full.read_text()
    assert {service["organization"]["x_agency_type"] for service in exported} == {
        "statutory",
        "voluntary",
    }


def test_editors_are_created_with_roles_listed_and_revoked(cli, directory_app):
    created = cli("editors", "create", "Directory Editor", "--role", "editor")
    assert created.exit_code == 0
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("fte_")
    editor = directory_app.extensions["editors"].authenticate(key)
    assert editor["roles"] == ["editor"]
    assert "editor" in cli("editors", "list").output
    assert cli("editors", "revoke", editor["_id"]).exit_code == 0
    assert directory_app.extensions["editors"].authenticate(key) is None
    assert cli("editors", "create", "No Role").exit_code == 2
    assert cli("editors", "create", "X", "--role", "admin").exit_code == 2


def test_the_seed_is_loaded_on_first_start_only(directory):
    assert load_seed_if_empty(directory) == len(seed_services())
    directory.services.update_one({}, {"$set": {"name": "Renamed by an editor"}})
    assert load_seed_if_empty(directory) == 0
    assert directory.services.count_documents({"name": "Renamed by an editor"}) == 1
