"""The directory's own MongoDB database, in HSDS 3.0 shapes.

Organisations, locations and services are each a collection, as are taxonomies, taxonomy
terms and HSDS metadata (the record of every change). A service document embeds its own
phones, schedules, contacts, service areas, links to locations (service_at_locations) and
to taxonomy terms (attributes), as HSDS nests them. Every event is about one service and
rides in that service's document (the outbox), so each service's events stay in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.database import Database

from backbone import mongo, outbox
from services.directory import domain

# The fields search reads; a whole service is fetched only for the page it is shown on.
RANKING_FIELDS = {"name": 1, "search_text": 1, "attributes": 1, "area_codes": 1}
STREAM_BATCH = 100


class Directory:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.organizations = db["organizations"]
        self.locations = db["locations"]
        self.services = db["services"]
        self.taxonomies = db["taxonomies"]
        self.taxonomy_terms = db["taxonomy_terms"]
        self.metadata = db["metadata"]

    def ensure_indexes(self) -> None:
        self.services.create_index("organization_id")
        self.services.create_index("attributes.taxonomy_term_id")
        self.services.create_index("service_at_locations.location_id")
        self.services.create_index("last_modified")
        outbox.ensure_index(self.services)
        self.taxonomy_terms.create_index("taxonomy_id")
        self.metadata.create_index([("resource_id", ASCENDING), ("last_action_date", ASCENDING)])

    def in_transaction(self, write: Callable[[ClientSession], Any]) -> Any:
        """Run `write` as one transaction: a change, its record and its events together."""
        return mongo.in_transaction(self.db, write)

    # ---- reads -------------------------------------------------------------------------

    def terms(self) -> dict[str, dict[str, Any]]:
        """Every taxonomy term by id: a directory has tens of them, not thousands."""
        return {term["_id"]: term for term in self.taxonomy_terms.find()}

    def candidates(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        """The services matching `query`, with only what ranking reads."""
        return list(self.services.find(query, RANKING_FIELDS))

    def services_by_id(self, ids: list[str]) -> list[dict[str, Any]]:
        """These services, in this order."""
        found = {
            doc["_id"]: doc for doc in self.services.find({"_id": {"$in": ids}}, outbox.WITHOUT_LOG)
        }
        return [found[i] for i in ids if i in found]

    def nested(
        self,
        services: list[dict[str, Any]],
        show_confidential: bool = False,
        pending: dict[str, dict[str, Any]] | None = None,
        terms: dict[str, dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """Services fully nested. `pending` holds organisations or locations about to be
        written, by id, so an event can show the service as the change leaves it; `terms`,
        the taxonomy terms when the caller has read them already."""
        pending = pending or {}
        organization_ids = {s["organization_id"] for s in services}
        location_ids = {
            link["location_id"] for s in services for link in s.get("service_at_locations", [])
        }
        organizations = {
            o["_id"]: o for o in self.organizations.find({"_id": {"$in": list(organization_ids)}})
        }
        locations = {
            loc["_id"]: loc
            for loc in self.locations.find(
                {"_id": {"$in": list(location_ids)}, "withdrawn_at": None}
            )
        }
        for doc_id, doc in pending.items():
            if doc_id in organization_ids:
                organizations[doc_id] = doc
            if doc_id in location_ids:
                locations[doc_id] = doc
        terms = self.terms() if terms is None else terms
        return [
            domain.nest(s, organizations[s["organization_id"]], locations, terms, show_confidential)
            for s in services
        ]

    def current_location_ids(self, ids: set[str]) -> set[str]:
        """Those of these locations that exist and are not withdrawn."""
        found = self.locations.find({"_id": {"$in": list(ids)}, "withdrawn_at": None}, {"_id": 1})
        return {location["_id"] for location in found}

    def withdrawn_ids(self) -> set[str]:
        """Every withdrawn organisation, location and service: kept, and not changed."""
        gone = {"withdrawn_at": {"$ne": None}}
        return {
            doc["_id"]
            for collection in (self.organizations, self.locations, self.services)
            for doc in collection.find(gone, {"_id": 1})
        }

    def current_service_ids(self) -> list[str]:
        return [doc["_id"] for doc in self.services.find({"withdrawn_at": None}, {"_id": 1}).sort(
            "_id", ASCENDING)]  # fmt: skip

    def nested_in_batches(
        self, ids: list[str], show_confidential: bool
    ) -> Iterator[dict[str, Any]]:
        """These services, fully nested, in this order, fetched a batch at a time: for
        answers and files too big to build at once."""
        terms = self.terms()
        for start in range(0, len(ids), STREAM_BATCH):
            batch = self.services_by_id(ids[start : start + STREAM_BATCH])
            yield from self.nested(batch, show_confidential, terms=terms)
