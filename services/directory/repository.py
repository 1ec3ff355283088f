"""The directory's own MongoDB database, in HSDS 3.0 shapes: the only module that touches
its collections.

Organisations, locations and services are each a collection, as are taxonomies, taxonomy
terms and HSDS metadata (the record of every change). A service document embeds its own
phones, schedules, contacts, service areas, links to locations (service_at_locations) and
to taxonomy terms (attributes), as HSDS nests them. Every event is about one service and
rides in that service's document (the outbox), so each service's events stay in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Literal

from pymongo import ASCENDING, UpdateOne
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from backbone import mongo, outbox
from backbone.errors import Conflict
from services.directory import domain
from services.directory.search import LISTING_BLOCK, LOCAL, ServiceSearch, listing_span

Kind = Literal["organization", "location", "service"]
STREAM_BATCH = 100
ONLY_ID = {"_id": 1}
BY_NAME = [("sort_name", ASCENDING), ("_id", ASCENDING)]
RANKED = {"order": ASCENDING}
RANK_COUNTDOWN = 1_999_999  # minus any rank (under 1,000,000): always seven digits
LISTING = "listing"  # the counter of the whole listing, in bookkeeping
DERIVED = "derived"  # which version of the derived fields every document has


class Directory:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.organizations = db["organizations"]
        self.locations = db["locations"]
        self.services = db["services"]
        self.taxonomies = db["taxonomies"]
        self.taxonomy_terms = db["taxonomy_terms"]
        self.metadata = db["metadata"]
        self.bookkeeping = db["bookkeeping"]
        self._collections = {
            "organization": self.organizations,
            "location": self.locations,
            "service": self.services,
        }

    def ensure_indexes(self) -> None:
        self.services.create_index("organization_id")
        self.services.create_index("attributes.taxonomy_term_id")
        self.services.create_index("service_at_locations.location_id")
        self.services.create_index("last_modified")
        self.services.create_index("area_codes")
        self.services.create_index("area_words")
        self.services.create_index("listing_number")
        outbox.ensure_index(self.services)
        for named in (self.organizations, self.taxonomies, self.taxonomy_terms):
            named.create_index("sort_name")
        self.taxonomy_terms.create_index("taxonomy_id")
        self.metadata.create_index([("resource_id", ASCENDING), ("last_action_date", ASCENDING)])

    def in_transaction(self, write: Callable[[ClientSession], Any]) -> Any:
        """Run `write` as one transaction: a change, its record and its events together."""
        return mongo.in_transaction(self.db, write)

    # ---- one resource -----------------------------------------------------------------

    def resource(self, kind: Kind, resource_id: str) -> dict[str, Any] | None:
        """An organisation, location or service as stored, without its event log."""
        return self._collections[kind].find_one({"_id": resource_id}, outbox.WITHOUT_LOG)

    def taxonomy(self, taxonomy_id: str) -> dict[str, Any] | None:
        return self.taxonomies.find_one({"_id": taxonomy_id})

    def taxonomy_term(self, term_id: str) -> dict[str, Any] | None:
        return self.taxonomy_terms.find_one({"_id": term_id})

    def terms(self) -> dict[str, dict[str, Any]]:
        """Every taxonomy term by id: a directory has tens of them, not thousands."""
        return {term["_id"]: term for term in self.taxonomy_terms.find()}

    def organization_name(self, organization_id: str) -> str:
        return self.organizations.find_one({"_id": organization_id}, {"name": 1})["name"]

    def is_current_organization(self, organization_id: str) -> bool:
        found = {"_id": organization_id, "withdrawn_at": None}
        return self.organizations.find_one(found, ONLY_ID) is not None

    def current_location_ids(self, ids: set[str]) -> set[str]:
        """Those of these locations that exist and are not withdrawn."""
        found = self.locations.find({"_id": {"$in": list(ids)}, "withdrawn_at": None}, ONLY_ID)
        return {location["_id"] for location in found}

    def withdrawn_ids(self) -> set[str]:
        """Every withdrawn organisation, location and service: kept, and not changed."""
        gone = {"withdrawn_at": {"$ne": None}}
        return {
            doc["_id"]
            for collection in self._collections.values()
            for doc in collection.find(gone, ONLY_ID)
        }

    def history(self, resource_id: str) -> list[dict[str, Any]]:
        """HSDS metadata of a resource, oldest first."""
        records = self.metadata.find({"resource_id": resource_id})
        return list(records.sort("last_action_date", ASCENDING))

    # ---- services, fully nested --------------------------------------------------------

    def services_by_id(self, ids: list[str]) -> list[dict[str, Any]]:
        """These services, in this order."""
        found = {
            doc["_id"]: doc for doc in self.services.find({"_id": {"$in": ids}}, outbox.WITHOUT_LOG)
        }
        return [found[service_id] for service_id in ids if service_id in found]

    def current_services_of(self, kind: Kind, resource_id: str) -> list[dict[str, Any]]:
        """The current services an organisation offers, or offered at a location."""
        link = "organization_id" if kind == "organization" else "service_at_locations.location_id"
        found = self.services.find({link: resource_id, "withdrawn_at": None}, outbox.WITHOUT_LOG)
        return list(found)

    def current_service_ids(self) -> list[str]:
        found = self.services.find({"withdrawn_at": None}, ONLY_ID)
        return [doc["_id"] for doc in found.sort("_id", ASCENDING)]

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
        organization_ids = {service["organization_id"] for service in services}
        location_ids = {
            link["location_id"]
            for service in services
            for link in service.get("service_at_locations", [])
        }
        organizations = {
            organization["_id"]: organization
            for organization in self.organizations.find({"_id": {"$in": list(organization_ids)}})
        }
        locations = {
            location["_id"]: location
            for location in self.locations.find(
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
            domain.nest(
                service,
                organizations[service["organization_id"]],
                locations,
                terms,
                show_confidential,
            )
            for service in services
        ]

    def nested_in_batches(
        self, ids: list[str], show_confidential: bool
    ) -> Iterator[dict[str, Any]]:
        """These services, fully nested, in this order, fetched a batch at a time: for
        answers and files too big to build at once."""
        terms = self.terms()
        for start in range(0, len(ids), STREAM_BATCH):
            batch = self.services_by_id(ids[start : start + STREAM_BATCH])
            yield from self.nested(batch, show_confidential, terms=terms)

    # ---- searching and paging ----------------------------------------------------------

    def search_services(
        self, search: ServiceSearch, skip: int = 0, limit: int = 0
    ) -> tuple[int, list[str]]:
        """How many current services match, and the ids of those from `skip` on (all when
        `limit` is 0), in the order search.py's `rank` writes out. The database counts
        and sorts what the index finds, in one pass."""
        if search.lists_everything:
            return self._listed(skip, limit)
        order = (
            [{"$project": _ranking(search)}, {"$sort": RANKED}]
            if search.ranked
            else [{"$sort": {"listing_number": ASCENDING}}]
        )
        page = [
            *order,
            {"$skip": skip},
            *([{"$limit": limit}] if limit else []),
            {"$project": ONLY_ID},
        ]
        [found] = self.services.aggregate(
            [
                {"$match": _service_filter(search)},
                {"$facet": {"total": [{"$count": "n"}], "page": page}},
            ]
        )
        total = found["total"][0]["n"] if found["total"] else 0
        return total, [doc["_id"] for doc in found["page"]]

    def _listed(self, skip: int, limit: int) -> tuple[int, list[str]]:
        """A stretch of the whole listing, read from the block it starts in: counting and
        skipping from the first service would read every one."""
        blocks = self._listing_blocks()
        total = sum(blocks.values())
        if skip >= total:
            return total, []
        first, end, passed = listing_span(blocks, skip, limit)
        numbers = {"$gte": first, "$lt": end}
        found = self.services.find({"listing_number": numbers}, ONLY_ID)
        found = found.sort("listing_number", ASCENDING).skip(passed).limit(limit)
        return total, [doc["_id"] for doc in found]

    def _listing_blocks(self) -> dict[int, int]:
        """How many current services each block of listing numbers holds."""
        counter = self.bookkeeping.find_one({"_id": LISTING}) or {}
        return {int(block): n for block, n in counter.get("blocks", {}).items() if n}

    def page_by_name(
        self,
        collection: Literal["organizations", "taxonomies", "taxonomy_terms"],
        found: dict[str, Any],
        words: list[str],
        skip: int,
        limit: int,
    ) -> tuple[int, list[dict[str, Any]]]:
        """A page of organisations, taxonomies or terms by name, those whose name has a
        word starting with each of `words`."""
        query = {**found, **({"name_prefixes": {"$all": words}} if words else {})}
        named = self.db[collection]
        total = named.count_documents(query)
        page = named.find(query, outbox.WITHOUT_LOG).sort(BY_NAME).skip(skip).limit(limit)
        return total, list(page)

    # ---- writes, each inside a transaction (`session`) ---------------------------------

    def take_listing_number(self, session: ClientSession) -> int:
        """The next number of the listing (the order services were added), counted in its
        block. Two services added at once conflict here, and one transaction is retried."""
        counter = self.bookkeeping.find_one({"_id": LISTING}, session=session) or {"next": 0}
        number = counter["next"]
        self.bookkeeping.update_one(
            {"_id": LISTING},
            {"$inc": {"next": 1, f"blocks.{number // LISTING_BLOCK}": 1}},
            upsert=True,
            session=session,
        )
        return number

    def leave_listing(self, number: int, session: ClientSession) -> None:
        """A service withdrawn: its block counts one fewer."""
        self.bookkeeping.update_one(
            {"_id": LISTING}, {"$inc": {f"blocks.{number // LISTING_BLOCK}": -1}}, session=session
        )

    def insert(self, kind: Kind, document: dict[str, Any], session: ClientSession) -> None:
        """A new organisation, location or service; an id taken already is a Conflict."""
        try:
            self._collections[kind].insert_one(document, session=session)
        except DuplicateKeyError:
            taken = f"The {domain.WORDS[kind]} changed meanwhile, or the id is taken."
            raise Conflict(taken) from None

    def update_service_if_version(
        self,
        service_id: str,
        version: int,
        fields: dict[str, Any],
        event: dict[str, Any],
        session: ClientSession,
    ) -> bool:
        """Set these fields, count a version and append the event, if the service is still
        at `version`; answer whether it was."""
        result = self.services.update_one(
            {"_id": service_id, "version": version},
            outbox.append_events({"$set": fields, "$inc": {"version": 1}}, event),
            session=session,
        )
        return result.matched_count == 1

    def replace_if_unchanged(
        self, kind: Kind, before: dict[str, Any], after: dict[str, Any], session: ClientSession
    ) -> bool:
        """Write an organisation or location over the version `before` was read at, if it
        is still that version with the same confidential flag; answer whether it was."""
        unchanged = {
            "_id": before["_id"],
            "version": before["version"],
            "x_confidential": True if before.get("x_confidential") else {"$ne": True},
        }
        document = {key: value for key, value in after.items() if key != "_id"}
        result = self._collections[kind].replace_one(unchanged, document, session=session)
        return result.matched_count == 1

    def withhold_location_history(
        self, location_id: str, shown: tuple[str, ...], session: ClientSession
    ) -> None:
        """Replace the values recorded of a location's fields but those `shown`."""
        self.metadata.update_many(
            {
                "resource_id": location_id,
                "resource_type": "location",
                "field_name": {"$nin": ["", *shown]},
            },
            {"$set": {"previous_value": domain.WITHHELD, "replacement_value": domain.WITHHELD}},
            session=session,
        )

    def record(self, records: list[dict[str, Any]], session: ClientSession) -> None:
        """HSDS metadata records of a change."""
        self.metadata.insert_many(records, session=session)

    def save_taxonomy(self, taxonomy: dict[str, Any], terms: list[dict[str, Any]]) -> None:
        """Create or refresh a taxonomy and its terms, as given."""
        self.taxonomies.replace_one({"_id": taxonomy["_id"]}, taxonomy, upsert=True)
        for term in terms:
            self.taxonomy_terms.replace_one({"_id": term["_id"]}, term, upsert=True)

    # ---- keeping derived fields up to date ---------------------------------------------

    def derived_version(self) -> int:
        """Which version of the derived fields every stored document has (0: unknown)."""
        return (self.bookkeeping.find_one({"_id": DERIVED}) or {}).get("version", 0)

    def set_derived_version(self, version: int) -> None:
        self.bookkeeping.replace_one(
            {"_id": DERIVED}, {"_id": DERIVED, "version": version}, upsert=True
        )

    def number_unlisted(self, service_ids: list[str]) -> int:
        """Give those of these services that have no listing number one (a current one)
        or none (a withdrawn one), in one transaction; answer how many were numbered."""

        def write(session: ClientSession) -> int:
            unlisted = self.services.find(
                {"_id": {"$in": service_ids}, "listing_number": {"$exists": False}},
                {"withdrawn_at": 1},
                session=session,
            )
            numbered = 0
            for service in sorted(unlisted, key=lambda found: found["_id"]):
                current = service["withdrawn_at"] is None
                number = self.take_listing_number(session) if current else None
                numbered += current
                self.services.update_one(
                    {"_id": service["_id"]}, {"$set": {"listing_number": number}}, session=session
                )
            return numbered

        return self.in_transaction(write)

    def stored_without(self, kind: Kind, field: str) -> list[dict[str, Any]]:
        """Organisations or services stored before `field` was derived (by an earlier
        version of the directory)."""
        missing = {field: {"$exists": False}}
        return list(self._collections[kind].find(missing, outbox.WITHOUT_LOG))

    def set_derived(
        self, kind: Kind, fields_by_id: dict[str, dict[str, Any]], retired: tuple[str, ...] = ()
    ) -> None:
        """Set fields the directory derives and editors never change (no new version),
        and remove the `retired` ones it no longer keeps."""
        unset = {"$unset": dict.fromkeys(retired, "")} if retired else {}
        updates = [
            UpdateOne({"_id": doc_id}, {"$set": fields, **unset})
            for doc_id, fields in fields_by_id.items()
        ]
        if updates:
            self._collections[kind].bulk_write(updates)


def _service_filter(search: ServiceSearch) -> dict[str, Any]:
    """The query for a search. The local database looks up the first clause it has an
    index for, so the narrowest comes first: an organisation (tens of services), then a
    word in the areas searched (a few percent of the directory), then an area."""
    found: dict[str, Any] = {}
    if search.organization_id is not None:
        found["organization_id"] = search.organization_id
    tokens = search.lookup_tokens()
    if tokens:
        found["area_words"] = {"$in": tokens}
    if search.local_authorities:
        found["area_codes"] = {"$in": [*search.local_authorities, domain.NATIONAL]}
    for word in search.words:  # a word is letters and digits only: a safe field name
        found[f"word_weights.{word}"] = {"$exists": True}
    if search.taxonomy_term_id is not None:
        found["attributes.taxonomy_term_id"] = search.taxonomy_term_id
    if search.modified_after is not None:
        found["last_modified"] = {"$gt": search.modified_after}
    found["withdrawn_at"] = None
    return found


def _ranking(search: ServiceSearch) -> dict[str, Any]:
    """What a ranked search sorts by, as one string: the rank (LOCAL for a service in the
    family's own area, plus the weight of each word), then the name, then the id. One key
    is compared once, where three cost the local database three times the comparisons.
    The rank is written as a fixed number of digits, counting down, so that the highest
    sorts first; names hold no control characters, so \x01 sorts before any name goes on."""
    weights = [{"$ifNull": [f"$word_weights.{word}", 0]} for word in search.words]
    own_area = {"$or": [{"$in": [code, "$area_codes"]} for code in search.local_authorities]}
    local = [{"$cond": [own_area, LOCAL, 0]}] if search.local_authorities else []
    countdown = {"$subtract": [RANK_COUNTDOWN, {"$add": [0, *weights, *local]}]}
    return {"order": {"$concat": [{"$toString": countdown}, "$sort_name", "\x01", "$_id"]}}
