"""Import and export of HSDS data: fully nested services, as a JSON array (or an HSDS
page with `contents`) or as ndjson, one service per line.

An import is checked whole before anything is written: a file with one bad record loads
nothing, and every bad record is reported. Loading goes through the same changes as the
write API, so each service gets its metadata and its event.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from marshmallow import ValidationError

from backbone.events.hsds import NESTED_SERVICE
from backbone.problems import field_errors
from services.directory.operations import DirectoryOperations
from services.directory.repository import Directory, Kind


@dataclass(frozen=True)
class BadRecord:
    where: str  # "line 3" or "record 3"
    pointer: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.pointer}: {self.detail}"


@dataclass(frozen=True)
class Unreadable:
    """What stood where a record should be; reported with the other faults."""

    message: str


def read_records(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, parsed record or Unreadable) for each record of a .json or .ndjson file."""
    with path.open(encoding="utf-8") as file:
        if path.suffix == ".ndjson":
            for number, line in enumerate(file, start=1):
                if line.strip():
                    yield f"line {number}", _parse(line)
            return
        document = _parse(file.read())
    if isinstance(document, dict) and isinstance(document.get("contents"), list):
        document = document["contents"]
    if not isinstance(document, list):
        yield (
            "the file",
            document
            if isinstance(document, Unreadable)
            else Unreadable("Expected a JSON array of services, or an HSDS page of them."),
        )
        return
    for number, record in enumerate(document, start=1):
        yield f"record {number}", record


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        return Unreadable(f"Not JSON: {error}")


def check(
    records: Iterable[tuple[str, Any]], directory: Directory
) -> tuple[list[dict[str, Any]], list[BadRecord]]:
    """The valid services, and a problem for each fault in each invalid one. What the
    database knows is checked too (taxonomy terms, withdrawn organisations and locations),
    so that loading a checked file does not stop half way."""
    term_ids = set(directory.terms())
    withdrawn = directory.withdrawn_ids()
    services, problems = [], []
    seen: set[str] = set()
    for where, record in records:
        if isinstance(record, Unreadable):
            problems.append(BadRecord(where, "/", record.message))
            continue
        if not isinstance(record, dict):
            problems.append(BadRecord(where, "/", "Expected a JSON object (a service)."))
            continue
        try:
            service = NESTED_SERVICE.load(record)
        except ValidationError as error:
            faults = field_errors(error.messages)
            problems += [BadRecord(where, fault["pointer"], fault["detail"]) for fault in faults]
            continue
        faults = _reference_faults(service, term_ids, withdrawn, seen)
        problems += [BadRecord(where, pointer, detail) for pointer, detail in faults]
        if not faults:
            services.append(service)
    return services, problems


def _reference_faults(
    service: dict[str, Any], term_ids: set[str], withdrawn: set[str], seen: set[str]
) -> list[tuple[str, str]]:
    faults = []
    links = service.get("service_at_locations", [])
    for pointer, doc_id in [
        ("/id", service.get("id")),
        ("/organization/id", service["organization"].get("id")),
        *(
            (f"/service_at_locations/{number}/location/id", link["location"].get("id"))
            for number, link in enumerate(links)
        ),
    ]:
        if doc_id in withdrawn:
            faults.append((pointer, "This is withdrawn here; it is kept, not changed."))
    if "id" not in service:
        faults.append(("/id", "An imported service needs its id."))
    elif service["id"] in seen:
        faults.append(("/id", "This id is given to another service in the file too."))
    else:
        seen.add(service["id"])
    if "id" not in service["organization"]:
        faults.append(("/organization/id", "An imported organisation needs its id."))
    for number, attribute in enumerate(service.get("attributes", [])):
        if attribute["taxonomy_term_id"] not in term_ids:
            pointer = f"/attributes/{number}/taxonomy_term_id"
            faults.append((pointer, "No taxonomy term has this id."))
    for number, link in enumerate(links):
        if "id" not in link["location"]:
            pointer = f"/service_at_locations/{number}/location/id"
            faults.append((pointer, "An imported location needs its id."))
    return faults


def load(
    operations: DirectoryOperations,
    services: list[dict[str, Any]],
    author: dict[str, Any],
    progress: Callable[[int], None] = lambda _: None,
) -> dict[str, int]:
    """Create or update each organisation, location and service; count what changed."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    done: set[str] = set()
    for service in services:
        _upsert(operations, "organization", service["organization"], author, done)
        for link in service.get("service_at_locations", []):
            _upsert(operations, "location", link["location"], author, done)
        body = _write_form(service)
        if operations.exists("service", service["id"]):
            changed = operations.update_service(service["id"], body, author)
            counts["updated" if changed else "unchanged"] += 1
        else:
            operations.create_service({**body, "id": service["id"]}, author)
            counts["created"] += 1
        progress(1)
    return counts


def _upsert(
    operations: DirectoryOperations, kind: Kind, body: dict, author: dict, done: set[str]
) -> None:
    """Create or update an organisation or location once per import."""
    if body["id"] in done:
        return
    done.add(body["id"])
    fields = {key: value for key, value in body.items() if key != "id"}
    if not operations.exists(kind, body["id"]):
        create = (
            operations.create_organization
            if kind == "organization"
            else (operations.create_location)
        )
        create(body, author)
    elif kind == "organization":
        operations.update_organization(body["id"], fields, author)
    else:
        operations.update_location(body["id"], fields, author)


def _write_form(service: dict[str, Any]) -> dict[str, Any]:
    """A nested service as the write API takes it: organisation and locations by id."""
    body = {
        key: value
        for key, value in service.items()
        if key not in ("id", "organization", "service_at_locations", "last_modified")
    }
    body["organization_id"] = service["organization"]["id"]
    body["attributes"] = [
        {key: value for key, value in attribute.items() if key != "taxonomy_term"}
        for attribute in service.get("attributes", [])
    ]
    body["service_at_locations"] = [
        {
            **({"id": link["id"]} if "id" in link else {}),
            **({"description": link["description"]} if "description" in link else {}),
            "location_id": link["location"]["id"],
        }
        for link in service.get("service_at_locations", [])
    ]
    return body


def export(directory: Directory, out: TextIO, ndjson: bool, include_confidential: bool) -> int:
    """Write every service not withdrawn, fully nested; answer how many."""
    ids = directory.current_service_ids()
    if not ndjson:
        out.write("[\n")
    for number, service in enumerate(directory.nested_in_batches(ids, include_confidential)):
        text = json.dumps(NESTED_SERVICE.dump(service), ensure_ascii=False, sort_keys=True)
        out.write(text + "\n" if ndjson else ("," if number else "") + text + "\n")
    if not ndjson:
        out.write("]\n")
    return len(ids)
