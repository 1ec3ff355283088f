"""An in-memory stand-in for the directory's repository (services/directory/repository.py),
so that the service layer's rules are checked in milliseconds, without servers.

It keeps the repository's contract, not its database: the same methods over dicts, a
transaction that leaves nothing behind when it fails, and a taken id refused as a
Conflict. The real repository is checked against the real database by the integration
tests."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from backbone import outbox
from backbone.errors import Conflict
from services.directory import domain, search
from services.directory.repository import Kind
from services.directory.search import ServiceSearch
from services.directory.taxonomy import needs_taxonomy

COLLECTIONS = ("organization", "location", "service", "taxonomies", "taxonomy_terms")


class FakeDirectory:
    def __init__(self) -> None:
        self.stored: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in COLLECTIONS}
        self.metadata: list[dict[str, Any]] = []
        self.listing_next = 0
        self.version_derived = 0
        self.transactions = 0
        self.save_taxonomy(*needs_taxonomy())

    def in_transaction(self, write: Callable[[None], Any]) -> Any:
        """All of `write` or none of it."""
        before = copy.deepcopy((self.stored, self.metadata, self.listing_next))
        try:
            result = write(None)
        except Exception:
            self.stored, self.metadata, self.listing_next = before
            raise
        self.transactions += 1
        return result

    # ---- one resource -----------------------------------------------------------------

    def resource(self, kind: Kind, resource_id: str) -> dict[str, Any] | None:
        found = self.stored[kind].get(resource_id)
        return _without_log(found) if found is not None else None

    def taxonomy(self, taxonomy_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.stored["taxonomies"].get(taxonomy_id))

    def taxonomy_term(self, term_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.stored["taxonomy_terms"].get(term_id))

    def terms(self) -> dict[str, dict[str, Any]]:
        return copy.deepcopy(self.stored["taxonomy_terms"])

    def organization_name(self, organization_id: str) -> str:
        return self.stored["organization"][organization_id]["name"]

    def is_current_organization(self, organization_id: str) -> bool:
        found = self.stored["organization"].get(organization_id)
        return found is not None and found["withdrawn_at"] is None

    def current_location_ids(self, ids: set[str]) -> set[str]:
        return {location_id for location_id in ids if self._current("location", location_id)}

    def withdrawn_ids(self) -> set[str]:
        return {
            doc_id
            for kind in ("organization", "location", "service")
            for doc_id, doc in self.stored[kind].items()
            if doc["withdrawn_at"] is not None
        }

    def history(self, resource_id: str) -> list[dict[str, Any]]:
        records = [record for record in self.metadata if record["resource_id"] == resource_id]
        return copy.deepcopy(sorted(records, key=lambda record: record["last_action_date"]))

    # ---- services, fully nested --------------------------------------------------------

    def services_by_id(self, ids: list[str]) -> list[dict[str, Any]]:
        return [
            _without_log(self.stored["service"][service_id])
            for service_id in ids
            if service_id in self.stored["service"]
        ]

    def current_services_of(self, kind: Kind, resource_id: str) -> list[dict[str, Any]]:
        def linked(service: dict[str, Any]) -> bool:
            if kind == "organization":
                return service["organization_id"] == resource_id
            links = service.get("service_at_locations", [])
            return resource_id in {link["location_id"] for link in links}

        services = self.stored["service"].values()
        return [
            _without_log(service)
            for service in services
            if service["withdrawn_at"] is None and linked(service)
        ]

    def current_service_ids(self) -> list[str]:
        return sorted(
            service_id
            for service_id in self.stored["service"]
            if self._current("service", service_id)
        )

    def nested(
        self,
        services: list[dict[str, Any]],
        show_confidential: bool = False,
        pending: dict[str, dict[str, Any]] | None = None,
        terms: dict[str, dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        pending = pending or {}
        organizations = {**self.stored["organization"], **pending}
        locations = {
            location_id: location
            for location_id, location in self.stored["location"].items()
            if location["withdrawn_at"] is None
        }
        locations |= {
            doc_id: doc for doc_id, doc in pending.items() if doc_id in self.stored["location"]
        }
        terms = self.terms() if terms is None else terms
        return [
            domain.nest(
                service,
                organizations[service["organization_id"]],
                locations,
                terms,
                show_confidential,
            )
            for service in copy.deepcopy(services)
        ]

    def nested_in_batches(
        self, ids: list[str], show_confidential: bool
    ) -> Iterator[dict[str, Any]]:
        yield from self.nested(self.services_by_id(ids), show_confidential)

    # ---- searching and paging ----------------------------------------------------------

    def search_services(
        self, found: ServiceSearch, skip: int = 0, limit: int = 0
    ) -> tuple[int, list[str]]:
        def wanted(service: dict[str, Any]) -> bool:
            terms = {attribute["taxonomy_term_id"] for attribute in service.get("attributes", [])}
            return (
                service["withdrawn_at"] is None
                and found.organization_id in (None, service["organization_id"])
                and found.taxonomy_term_id in (None, *terms)
                and (
                    found.modified_after is None or service["last_modified"] > found.modified_after
                )
            )

        services = [service for service in self.stored["service"].values() if wanted(service)]
        ranked = search.rank(services, found)
        return len(ranked), ranked[skip : skip + limit] if limit else ranked[skip:]

    def page_by_name(
        self,
        collection: str,
        found: dict[str, Any],
        words: list[str],
        skip: int,
        limit: int,
    ) -> tuple[int, list[dict[str, Any]]]:
        kind = {"organizations": "organization"}.get(collection, collection)
        matching = sorted(
            (
                doc
                for doc in self.stored[kind].values()
                if all(doc.get(field) == value for field, value in found.items())
                and set(words) <= set(doc["name_prefixes"])
            ),
            key=lambda doc: (doc["sort_name"], doc["_id"]),
        )
        return len(matching), copy.deepcopy(matching[skip : skip + limit])

    # ---- writes ------------------------------------------------------------------------

    def take_listing_number(self, session: None) -> int:
        self.listing_next += 1
        return self.listing_next - 1

    def leave_listing(self, number: int, session: None) -> None:
        pass  # the fake lists by looking at every service

    def insert(self, kind: Kind, document: dict[str, Any], session: None) -> None:
        if document["_id"] in self.stored[kind]:
            raise Conflict(f"The {domain.WORDS[kind]} changed meanwhile, or the id is taken.")
        self.stored[kind][document["_id"]] = copy.deepcopy(document)

    def update_service_if_version(
        self,
        service_id: str,
        version: int,
        fields: dict[str, Any],
        event: dict[str, Any],
        session: None,
    ) -> bool:
        service = self.stored["service"].get(service_id)
        if service is None or service["version"] != version:
            return False
        service.update(copy.deepcopy(fields), version=version + 1)
        for log in ("events", "outbox"):
            service.setdefault(log, []).append(copy.deepcopy(event))
        return True

    def replace_if_unchanged(
        self, kind: Kind, before: dict[str, Any], after: dict[str, Any], session: None
    ) -> bool:
        stored = self.stored[kind].get(before["_id"])
        if (
            stored is None
            or stored["version"] != before["version"]
            or bool(stored.get("x_confidential")) != bool(before.get("x_confidential"))
        ):
            return False
        self.stored[kind][before["_id"]] = {**copy.deepcopy(after), "_id": before["_id"]}
        return True

    def withhold_location_history(
        self, location_id: str, shown: tuple[str, ...], session: None
    ) -> None:
        for record in self.metadata:
            if (
                record["resource_id"] == location_id
                and record["resource_type"] == "location"
                and record["field_name"] not in ("", *shown)
            ):
                record.update(previous_value=domain.WITHHELD, replacement_value=domain.WITHHELD)

    def record(self, records: list[dict[str, Any]], session: None) -> None:
        self.metadata += copy.deepcopy(records)

    def save_taxonomy(self, taxonomy: dict[str, Any], terms: list[dict[str, Any]]) -> None:
        self.stored["taxonomies"][taxonomy["_id"]] = copy.deepcopy(taxonomy)
        for term in terms:
            self.stored["taxonomy_terms"][term["_id"]] = copy.deepcopy(term)

    def derived_version(self) -> int:
        return self.version_derived

    def set_derived_version(self, version: int) -> None:
        self.version_derived = version

    def number_unlisted(self, service_ids: list[str]) -> int:
        def write(session: None) -> int:
            numbered = 0
            for service_id in sorted(service_ids):
                service = self.stored["service"][service_id]
                if "listing_number" not in service:
                    current = service["withdrawn_at"] is None
                    service["listing_number"] = self.take_listing_number(None) if current else None
                    numbered += current
            return numbered

        return self.in_transaction(write)

    def stored_without(self, kind: Kind, field: str) -> list[dict[str, Any]]:
        return [_without_log(doc) for doc in self.stored[kind].values() if field not in doc]

    def set_derived(
        self, kind: Kind, fields_by_id: dict[str, dict[str, Any]], retired: tuple[str, ...] = ()
    ) -> None:
        for doc_id, fields in fields_by_id.items():
            document = self.stored[kind][doc_id]
            document.update(copy.deepcopy(fields))
            for name in retired:
                document.pop(name, None)

    # ---- what the tests read -----------------------------------------------------------

    def events_of(self, service_id: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.stored["service"][service_id].get("outbox", []))

    def _current(self, kind: Kind, resource_id: str) -> bool:
        found = self.stored[kind].get(resource_id)
        return found is not None and found["withdrawn_at"] is None


def _without_log(document: dict[str, Any]) -> dict[str, Any]:
    return {key: copy.deepcopy(v) for key, v in document.items() if key not in outbox.LOG_FIELDS}
