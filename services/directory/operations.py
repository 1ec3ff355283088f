"""The directory's service layer: what the API, the import and the CLI ask of the
directory. Each change writes the resource, its HSDS metadata and an event for every
service it touches, in one transaction.

Callers pass bodies already validated against the HSDS schemas; this layer checks what
only the database knows (that an organisation, location or taxonomy term exists and is
current) and refuses (backbone.errors) before anything is written. Every stored
organisation, location and service carries a `version`: a change made from a stale read
is refused (Conflict), so two editors never silently overwrite each other, and a caller
may name the versions it read (`if_version`, from HTTP If-Match). Who may touch a
confidential location is decided here, on the very document the write is conditioned on,
so a location made confidential meanwhile can never be changed by an editor without the
safeguarding role.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from backbone import outbox
from backbone.clock import now
from backbone.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotAllowed,
    NotFound,
    NotTheVersionRead,
    Withdrawn,
)
from backbone.events.envelope import new_event
from backbone.events.hsds import NESTED_SERVICE
from backbone.ids import new_id
from services.directory import SOURCE, domain, search
from services.directory.domain import WORDS
from services.directory.repository import Directory, Kind
from services.directory.search import ServiceSearch

CHILD_LISTS = ("phones", "schedules", "contacts", "service_areas", "attributes", "addresses")
# Which derived fields (search.py) stored documents carry: an earlier version of the
# directory kept none of these, and its documents are given them once, at start.
DERIVED_VERSION = 1
NUMBERING_BATCH = 100

Versions = frozenset[int] | None  # the versions a caller read; None: whichever is current
Versioned = tuple[dict[str, Any], int]  # a resource as shown, and its version


class DirectoryOperations:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    # ---- reads ------------------------------------------------------------------------

    def service_search(self, query: dict[str, Any]) -> ServiceSearch:
        """The search a `GET /services` query asks for; an unknown need is refused."""
        term_id = query.get("taxonomy_term_id")
        if term_id is not None and self.directory.taxonomy_term(term_id) is None:
            raise NotAllowed("No taxonomy term has this id.", "/taxonomy_term_id")
        return ServiceSearch(
            words=search.words(query.get("search", "")),
            local_authorities=domain.local_authorities_for(
                query.get("local_authority"), query.get("referring_team")
            ),
            organization_id=query.get("organization_id"),
            taxonomy_term_id=term_id,
            modified_after=query.get("modified_after"),
        )

    def page_of_services(
        self, found: ServiceSearch, page: int, per_page: int, show_confidential: bool
    ) -> dict[str, Any]:
        """One page of the services found, fully nested, in the HSDS page envelope."""
        total, ids = self.directory.search_services(found, (page - 1) * per_page, per_page)
        _check_page(page, per_page, total)
        contents = self.directory.nested(self.directory.services_by_id(ids), show_confidential)
        return domain.page_envelope(contents, total, page, per_page)

    def every_service(
        self, found: ServiceSearch, show_confidential: bool
    ) -> Iterator[dict[str, Any]]:
        """Every service found, fully nested, best first: for a stream, unpaged."""
        _, ids = self.directory.search_services(found)
        return self.directory.nested_in_batches(ids, show_confidential)

    def service(self, service_id: str, show_confidential: bool) -> Versioned:
        """One service, fully nested. A withdrawn one is shown, as 'inactive'."""
        found = self.directory.services_by_id([service_id])
        if not found:
            raise NotFound("No service has this id.")
        return self.directory.nested(found, show_confidential)[0], found[0]["version"]

    def organization(self, organization_id: str) -> Versioned:
        stored = self._stored("organization", organization_id)
        return domain.as_hsds(stored), stored["version"]

    def location(self, location_id: str, show_confidential: bool) -> Versioned:
        """A location; a confidential one shows its address only to the safeguarding role."""
        stored = self._stored("location", location_id)
        location = domain.as_hsds(stored)
        shown = location if show_confidential else domain.public_location(location)
        return shown, stored["version"]

    def taxonomy(self, taxonomy_id: str) -> dict[str, Any]:
        taxonomy = self.directory.taxonomy(taxonomy_id)
        if taxonomy is None:
            raise NotFound("No taxonomy has this id.")
        return domain.as_hsds(taxonomy)

    def taxonomy_term(self, term_id: str) -> dict[str, Any]:
        term = self.directory.taxonomy_term(term_id)
        if term is None:
            raise NotFound("No taxonomy term has this id.")
        return domain.as_hsds(term)

    def page_by_name(
        self, collection: str, found: dict[str, Any], query: dict[str, Any]
    ) -> dict[str, Any]:
        """A page of organisations (current ones), taxonomies or taxonomy terms, by name;
        with `search`, those with a word of their name starting with each word of it."""
        page, per_page = query["page"], query["per_page"]
        words = search.words(query.get("search", ""))
        total, documents = self.directory.page_by_name(
            collection, found, words, (page - 1) * per_page, per_page
        )
        _check_page(page, per_page, total)
        contents = [domain.as_hsds(document) for document in documents]
        return domain.page_envelope(contents, total, page, per_page)

    def history(self, resource_id: str) -> list[dict[str, Any]]:
        """Who changed a resource, when, and its values before and after (HSDS metadata)."""
        return [domain.as_hsds(record) for record in self.directory.history(resource_id)]

    def exists(self, kind: Kind, resource_id: str) -> bool:
        return self.directory.resource(kind, resource_id) is not None

    # ---- services ----------------------------------------------------------------------

    def create_service(self, body: dict[str, Any], author: dict[str, Any]) -> str:
        """Add a service; `body` may carry its id (an import), or one is made."""
        terms = self._check_references(body)
        service = _with_child_ids(_without_id(body))
        service["_id"] = body.get("id") or new_id()
        at = now()
        service.update(self._derived(service, terms))
        service.update(last_modified=at, version=1, withdrawn_at=None)
        change = _change("create", "service", service["_id"], author, at, [])
        event = self._event("ServicePublished", service, change)

        def write(session) -> None:
            listed = {**service, "listing_number": self.directory.take_listing_number(session)}
            self.directory.insert("service", outbox.with_events(listed, event), session)
            self.directory.record(_records([change]), session)

        self.directory.in_transaction(write)
        return service["_id"]

    def update_service(
        self,
        service_id: str,
        body: dict[str, Any],
        author: dict[str, Any],
        if_version: Versions = None,
    ) -> bool:
        """Apply the fields given; answer whether anything changed."""
        before = self._current("service", service_id, if_version)
        terms = self._check_references(body)
        after = _with_child_ids({**before, **_without_id(body)})
        changes = domain.field_changes(_editable(before), _editable(after))
        if not changes:
            return False
        at = now()
        after.update(self._derived(after, terms), last_modified=at)
        change = _change("update", "service", service_id, author, at, changes)
        self._write_service(before, after, self._event("ServiceUpdated", after, change), change)
        return True

    def withdraw_service(
        self, service_id: str, author: dict[str, Any], if_version: Versions = None
    ) -> bool:
        """Withdraw a service; answer False if it already was."""
        before = self._existing("service", service_id, if_version)
        if before.get("withdrawn_at"):
            return False
        at = now()
        after = {**before, "status": "inactive", "withdrawn_at": at, "last_modified": at}
        changes = domain.field_changes({"status": before["status"]}, {"status": "inactive"})
        change = _change("delete", "service", service_id, author, at, changes)
        self._write_service(before, after, self._event("ServiceWithdrawn", after, change), change)
        return True

    def _write_service(
        self, before: dict[str, Any], after: dict[str, Any], event: dict, change: dict
    ) -> None:
        fields = {
            key: value
            for key, value in after.items()
            if key not in {"_id", "version", *outbox.LOG_FIELDS}
        }

        def write(session) -> None:
            self._update_service(before, fields, event, session)
            self.directory.record(_records([change]), session)

        self.directory.in_transaction(write)

    def _update_service(
        self, before: dict[str, Any], fields: dict[str, Any], event: dict, session
    ) -> None:
        number = before.get("listing_number")
        if fields.get("withdrawn_at") is not None and number is not None:
            fields = {**fields, "listing_number": None}  # it leaves the listing
            self.directory.leave_listing(number, session)
        written = self.directory.update_service_if_version(
            before["_id"], before["version"], fields, event, session
        )
        if not written:  # raised inside the transaction: all of it aborts
            raise Conflict("The service changed meanwhile, or the id is taken.")

    # ---- organisations and locations ----------------------------------------------------

    def create_organization(self, body: dict[str, Any], author: dict[str, Any]) -> str:
        return self._create("organization", body, author)

    def create_location(self, body: dict[str, Any], author: dict[str, Any]) -> str:
        """Add a location; a confidential one needs the safeguarding role."""
        return self._create("location", body, author)

    def update_organization(
        self,
        organization_id: str,
        body: dict[str, Any],
        author: dict[str, Any],
        if_version: Versions = None,
    ) -> bool:
        """Change an organisation; each of its current services is announced."""
        return self._update("organization", organization_id, body, author, if_version)

    def update_location(
        self,
        location_id: str,
        body: dict[str, Any],
        author: dict[str, Any],
        if_version: Versions = None,
    ) -> bool:
        """Change a location; each service offered there is announced. A location that
        is or becomes confidential needs the safeguarding role."""
        return self._update("location", location_id, body, author, if_version)

    def withdraw_organization(
        self, organization_id: str, author: dict[str, Any], if_version: Versions = None
    ) -> bool:
        """The organisation goes, and with it every service it offers."""
        return self._withdraw("organization", organization_id, author, if_version)

    def withdraw_location(
        self, location_id: str, author: dict[str, Any], if_version: Versions = None
    ) -> bool:
        """The location goes; services offered there stay, without it. A confidential one
        needs the safeguarding role."""
        return self._withdraw("location", location_id, author, if_version)

    def _create(self, kind: Kind, body: dict[str, Any], author: dict[str, Any]) -> str:
        if kind == "location":
            _check_safeguarding(author, body)
        document = _with_child_ids(_without_id(body))
        document["_id"] = body.get("id") or new_id()
        at = now()
        document.update(_named(kind, document))
        document.update(created_at=at, last_modified=at, version=1, withdrawn_at=None)
        change = _change("create", kind, document["_id"], author, at, [])

        def write(session) -> None:
            self.directory.insert(kind, document, session)
            self.directory.record(_records([change]), session)

        self.directory.in_transaction(write)
        return document["_id"]

    def _update(
        self,
        kind: Kind,
        resource_id: str,
        body: dict[str, Any],
        author: dict[str, Any],
        if_version: Versions,
    ) -> bool:
        before = self._current(kind, resource_id, if_version)
        after = _with_child_ids({**before, **_without_id(body)})
        if kind == "location":
            _check_safeguarding(author, before, after)
        confidential = kind == "location" and domain.is_confidential(before, after)
        changes = domain.field_changes(_editable(before), _editable(after), confidential)
        if not changes:
            return False
        at = now()
        after.update(_named(kind, after), last_modified=at)
        change = _change("update", kind, resource_id, author, at, changes)
        self._write_with_services(kind, before, after, change)
        return True

    def _withdraw(
        self, kind: Kind, resource_id: str, author: dict[str, Any], if_version: Versions
    ) -> bool:
        before = self._existing(kind, resource_id, if_version)
        if kind == "location":
            _check_safeguarding(author, before)
        if before.get("withdrawn_at"):
            return False
        at = now()
        after = {**before, "withdrawn_at": at, "last_modified": at}
        change = _change("delete", kind, resource_id, author, at, [])
        self._write_with_services(kind, before, after, change)
        return True

    def _write_with_services(
        self, kind: Kind, before: dict[str, Any], after: dict[str, Any], change: dict
    ) -> None:
        """Write an organisation or location, and change and announce every current service
        it touches, in one transaction."""
        resource_id = before["_id"]
        pending = {resource_id: after}
        withdrawn = after.get("withdrawn_at") is not None
        term_names = _term_names(self.directory.terms())
        updates, service_changes = [], []
        for service in self.directory.current_services_of(kind, resource_id):
            changed = _service_after(kind, resource_id, service, withdrawn, change["at"])
            organization = pending.get(service["organization_id"]) or {
                "name": self.directory.organization_name(service["organization_id"])
            }
            new_service = {**service, **changed}
            changed |= search.search_fields(new_service, organization["name"], term_names)
            new_service |= changed
            fields = domain.field_changes(_editable(service), _editable(new_service))
            gone = new_service.get("withdrawn_at") is not None
            if fields:  # the service's own history shows what its organisation did to it
                action = "delete" if gone else "update"
                by, at = change["by"], change["at"]
                service_changes.append(_change(action, "service", service["_id"], by, at, fields))
            event_type = "ServiceWithdrawn" if gone else "ServiceUpdated"
            event = self._event(event_type, new_service, change, pending=pending)
            updates.append((service, changed, event))
        document = {**after, "version": before["version"] + 1}

        def write(session) -> None:
            # The version, and with it the confidential flag the role check read, must be
            # as read: a location flagged confidential meanwhile is not overwritten.
            if not self.directory.replace_if_unchanged(kind, before, document, session):
                raise Conflict(f"The {WORDS[kind]} changed meanwhile, or the id is taken.")
            for service, changed, event in updates:
                self._update_service(service, changed, event, session)
            if kind == "location" and after.get("x_confidential"):
                shown = domain.PUBLIC_CONFIDENTIAL_FIELDS
                self.directory.withhold_location_history(resource_id, shown, session)
            self.directory.record(_records([change, *service_changes]), session)

        self.directory.in_transaction(write)

    # ---- derived fields ----------------------------------------------------------------

    def derive_missing_fields(self) -> int:
        """Give the services and organisations an earlier version of the directory stored
        the fields searching, sorting and the listing read; answer how many were given
        them. Once done, it is not looked for again (it reads every document)."""
        if self.directory.derived_version() >= DERIVED_VERSION:
            return 0
        organizations = {
            organization["_id"]: search.name_fields(organization["name"])
            for organization in self.directory.stored_without("organization", "sort_name")
        }
        self.directory.set_derived("organization", organizations)
        stale = self.directory.stored_without("service", "area_words")
        terms = self.directory.terms() if stale else {}
        services = {service["_id"]: self._derived(service, terms) for service in stale}
        self.directory.set_derived("service", services, retired=("search_text",))
        unlisted = sorted(
            service["_id"] for service in self.directory.stored_without("service", "listing_number")
        )
        for start in range(0, len(unlisted), NUMBERING_BATCH):
            self.directory.number_unlisted(unlisted[start : start + NUMBERING_BATCH])
        self.directory.set_derived_version(DERIVED_VERSION)
        return len(organizations) + len(services)

    # ---- shared ------------------------------------------------------------------------

    def _stored(self, kind: Kind, resource_id: str) -> dict[str, Any]:
        document = self.directory.resource(kind, resource_id)
        if document is None:
            raise NotFound(f"No {WORDS[kind]} has this id.")
        return document

    def _existing(
        self, kind: Kind, resource_id: str, if_version: Versions = None
    ) -> dict[str, Any]:
        document = self._stored(kind, resource_id)
        if if_version is not None and document["version"] not in if_version:
            raise NotTheVersionRead(
                f"The {WORDS[kind]} has changed since the version named in If-Match: read it again."
            )
        return document

    def _current(self, kind: Kind, resource_id: str, if_version: Versions = None) -> dict:
        document = self._existing(kind, resource_id, if_version)
        if document.get("withdrawn_at"):
            raise Withdrawn(
                f"This {WORDS[kind]} is withdrawn: it is kept for the record, not changed."
            )
        return document

    def _check_references(self, body: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Refuse a service body naming an organisation, location or taxonomy term that
        does not exist or is withdrawn; answer the taxonomy terms, read for this."""
        errors = []
        organization_id = body.get("organization_id")
        if organization_id is not None and not self.directory.is_current_organization(
            organization_id
        ):
            errors.append(_error("/organization_id", "No current organisation has this id."))
        terms = self.directory.terms()
        for number, attribute in enumerate(body.get("attributes", [])):
            if attribute["taxonomy_term_id"] not in terms:
                pointer = f"/attributes/{number}/taxonomy_term_id"
                errors.append(_error(pointer, "No taxonomy term has this id."))
        links = body.get("service_at_locations", [])
        known = self.directory.current_location_ids({link["location_id"] for link in links})
        for number, link in enumerate(links):
            if link["location_id"] not in known:
                pointer = f"/service_at_locations/{number}/location_id"
                errors.append(_error(pointer, "No current location has this id."))
        if errors:
            raise Invalid("The change refers to what does not exist.", errors)
        return terms

    def _derived(self, service: dict[str, Any], terms: dict[str, dict]) -> dict[str, Any]:
        organization_name = self.directory.organization_name(service["organization_id"])
        return search.search_fields(service, organization_name, _term_names(terms))

    def _event(
        self, type_name: str, service: dict, change: dict, pending: dict | None = None
    ) -> dict:
        """The event for a service as the change leaves it, as the public may see it."""
        nested = self.directory.nested([service], show_confidential=False, pending=pending)[0]
        data = {"service": NESTED_SERVICE.dump(nested), "change": _json_change(change)}
        return new_event(type_name, SOURCE, service["_id"], data)


def _check_page(page: int, per_page: int, total: int) -> None:
    """One page past the last is a mistake worth saying (page 1 of nothing is an empty
    answer, not a mistake)."""
    last = max(1, -(-total // per_page))
    if page > last:
        raise NotAllowed(f"There are {last} pages of {per_page}.", "/page")


def _check_safeguarding(author: dict, *states: dict) -> None:
    """A location confidential in any of these states (as read, as it would become) is
    the safeguarding role's alone."""
    if domain.is_confidential(*states) and "safeguarding" not in author.get("roles", []):
        raise Forbidden("This needs the 'safeguarding' role.")


def _service_after(
    kind: Kind, resource_id: str, service: dict, withdrawn: bool, at: datetime
) -> dict[str, Any]:
    """What changes in a service when its organisation or one of its locations does."""
    changed: dict[str, Any] = {"last_modified": at}
    if kind == "organization" and withdrawn:
        changed |= {"status": "inactive", "withdrawn_at": at}
    if kind == "location" and withdrawn:
        changed["service_at_locations"] = [
            link
            for link in service.get("service_at_locations", [])
            if link["location_id"] != resource_id
        ]
    return changed


def _named(kind: Kind, document: dict[str, Any]) -> dict[str, Any]:
    """What an organisation is listed and searched by; a location is not listed."""
    return search.name_fields(document["name"]) if kind == "organization" else {}


def _term_names(terms: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {term_id: term["name"] for term_id, term in terms.items()}


def _change(action: str, kind: str, doc_id: str, author: dict, at: datetime, fields: list) -> dict:
    return {
        "action": action,
        "resource_type": kind,
        "resource_id": doc_id,
        "by": {"id": author["id"], "name": author["name"]},
        "at": at,
        "fields_changed": fields,
    }


def _records(changes: list[dict]) -> list[dict[str, Any]]:
    """HSDS metadata: one record per changed field, or one for a create or delete."""
    records = []
    for change in changes:
        fields = change["fields_changed"] or [
            {"field_name": "", "previous_value": "", "replacement_value": ""}
        ]
        records += [
            {
                "_id": new_id(),
                "resource_id": change["resource_id"],
                "resource_type": change["resource_type"],
                "last_action_date": change["at"],
                "last_action_type": change["action"],
                **field,
                "updated_by": change["by"]["id"],
                "x_updated_by_name": change["by"]["name"],
            }
            for field in fields
        ]
    return records


def _json_change(change: dict) -> dict:
    return {**change, "at": change["at"].isoformat()}


def _error(pointer: str, detail: str) -> dict[str, str]:
    return {"pointer": pointer, "detail": detail}


def _without_id(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "id"}


def _editable(document: dict[str, Any]) -> dict[str, Any]:
    skip = domain.INTERNAL | {"_id", "last_modified"}
    return {key: value for key, value in document.items() if key not in skip}


def _with_child_ids(document: dict[str, Any]) -> dict[str, Any]:
    """Every nested HSDS object gets an id of its own, as HSDS asks."""
    out = dict(document)
    for name in (*CHILD_LISTS, "service_at_locations"):
        if name in out:
            out[name] = [
                _with_child_ids({"id": child.get("id") or new_id(), **child}) for child in out[name]
            ]
    return out
