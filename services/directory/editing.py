"""Changes to the directory: each writes the resource, its HSDS metadata and an event for
every service it touches, in one transaction.

Callers pass bodies already validated against the HSDS schemas; this layer checks what
only the database knows (that an organisation, location or taxonomy term exists and is
current) and raises before anything is written. Every stored organisation, location and
service carries a `version`: a change made from a stale read is refused (Conflict), so
two editors never silently overwrite each other, and a caller may name the versions it
read (`if_version`, from HTTP If-Match). Who may touch a confidential location is decided
here, on the very document the write is conditioned on, so a location made confidential
meanwhile can never be changed by an editor without the safeguarding role.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.client_session import ClientSession
from pymongo.collection import Collection

from backbone import outbox
from backbone.clock import now
from backbone.events.envelope import new_event
from backbone.events.hsds import NESTED_SERVICE
from backbone.ids import new_id
from services.directory import SOURCE, domain
from services.directory.repository import Directory

CHILD_LISTS = ("phones", "schedules", "contacts", "service_areas", "attributes", "addresses")


class Rejected(Exception):
    """The change refers to what does not exist; nothing was written."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['pointer']}: {e['detail']}" for e in errors))
        self.errors = errors


class NotFound(LookupError):
    pass


class Conflict(Exception):
    """Someone else changed it meanwhile; nothing was written, and the caller may retry."""


class Withdrawn(Exception):
    """A withdrawn resource is kept for the record and no longer changed."""


class Forbidden(Exception):
    """The author lacks the role this change needs; nothing was written."""

    def __init__(self, role: str) -> None:
        super().__init__(role)
        self.role = role


class NotTheVersionRead(Exception):
    """The caller changed what it read at another version; nothing was written."""


Versions = frozenset[int] | None  # the versions a caller read; None: whichever is current


class Editing:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    # ---- services ----------------------------------------------------------------------

    def create_service(self, body: dict[str, Any], author: dict[str, str]) -> str:
        """Add a service; `body` may carry its id (an import), or one is made."""
        self._check_references(body)
        service = _with_child_ids({k: val for k, val in body.items() if k != "id"})
        service["_id"] = body.get("id") or new_id()
        at = now()
        service.update(self._derived(service), last_modified=at, version=1, withdrawn_at=None)
        change = _change("create", "service", service["_id"], author, at, [])
        event = self._event("ServicePublished", service, change)

        def write(session: ClientSession) -> None:
            self.directory.services.insert_one(outbox.with_events(service, event), session=session)
            self._record([change], session)

        self.directory.in_transaction(write)
        return service["_id"]

    def update_service(
        self, service_id: str, body: dict[str, Any], author: dict, if_version: Versions = None
    ) -> bool:
        """Apply the fields given; answer whether anything changed."""
        before = self._current(self.directory.services, service_id, if_version)
        self._check_references(body)
        after = _with_child_ids({**before, **{k: val for k, val in body.items() if k != "id"}})
        changes = domain.field_changes(_editable(before), _editable(after))
        if not changes:
            return False
        at = now()
        after.update(self._derived(after), last_modified=at)
        change = _change("update", "service", service_id, author, at, changes)
        self._write_service(before, after, self._event("ServiceUpdated", after, change), [change])
        return True

    def withdraw_service(self, service_id: str, author: dict, if_version: Versions = None) -> bool:
        """Withdraw a service; answer False if it already was."""
        before = self._existing(self.directory.services, service_id, if_version)
        if before.get("withdrawn_at"):
            return False
        at = now()
        after = {**before, "status": "inactive", "withdrawn_at": at, "last_modified": at}
        changes = domain.field_changes({"status": before["status"]}, {"status": "inactive"})
        change = _change("delete", "service", service_id, author, at, changes)
        self._write_service(before, after, self._event("ServiceWithdrawn", after, change), [change])
        return True

    def _write_service(
        self, before: dict[str, Any], after: dict[str, Any], event: dict, changes: list[dict]
    ) -> None:
        fields = {
            k: val for k, val in after.items() if k not in {"_id", "version", *outbox.LOG_FIELDS}
        }

        def write(session: ClientSession) -> None:
            self._update_service(before, fields, event, session)
            self._record(changes, session)

        self.directory.in_transaction(write)

    def _update_service(
        self, before: dict[str, Any], fields: dict[str, Any], event: dict, session: ClientSession
    ) -> None:
        result = self.directory.services.update_one(
            {"_id": before["_id"], "version": before["version"]},
            outbox.append_events({"$set": fields, "$inc": {"version": 1}}, event),
            session=session,
        )
        if result.matched_count != 1:  # raised inside the transaction: all of it aborts
            raise Conflict()

    # ---- organisations and locations ----------------------------------------------------

    def create_organization(self, body: dict[str, Any], author: dict[str, str]) -> str:
        return self._create("organization", self.directory.organizations, body, author)

    def create_location(self, body: dict[str, Any], author: dict[str, str]) -> str:
        return self._create("location", self.directory.locations, body, author)

    def update_organization(
        self, org_id: str, body: dict[str, Any], author: dict, if_version: Versions = None
    ) -> bool:
        """Change an organisation; each of its current services is announced."""
        organizations = self.directory.organizations
        return self._update("organization", organizations, org_id, body, author, if_version)

    def update_location(
        self, location_id: str, body: dict[str, Any], author: dict, if_version: Versions = None
    ) -> bool:
        """Change a location; each service offered there is announced. A location that
        is or becomes confidential needs the safeguarding role."""
        locations = self.directory.locations
        return self._update("location", locations, location_id, body, author, if_version)

    def withdraw_organization(self, org_id: str, author: dict, if_version: Versions = None) -> bool:
        """The organisation goes, and with it every service it offers."""
        organizations = self.directory.organizations
        return self._withdraw("organization", organizations, org_id, author, if_version)

    def withdraw_location(
        self, location_id: str, author: dict, if_version: Versions = None
    ) -> bool:
        """The location goes; services offered there stay, without it. A confidential one
        needs the safeguarding role."""
        locations = self.directory.locations
        return self._withdraw("location", locations, location_id, author, if_version)

    def _create(self, kind: str, collection: Collection, body: dict, author: dict) -> str:
        if kind == "location":
            _check_safeguarding(author, body)
        document = _with_child_ids({k: val for k, val in body.items() if k != "id"})
        document["_id"] = body.get("id") or new_id()
        at = now()
        document.update(created_at=at, last_modified=at, version=1, withdrawn_at=None)
        change = _change("create", kind, document["_id"], author, at, [])

        def write(session: ClientSession) -> None:
            collection.insert_one(document, session=session)
            self._record([change], session)

        self.directory.in_transaction(write)
        return document["_id"]

    def _update(
        self, kind: str, collection: Collection, doc_id: str, body: dict, author, if_version
    ) -> bool:
        before = self._current(collection, doc_id, if_version)
        after = _with_child_ids({**before, **{k: val for k, val in body.items() if k != "id"}})
        if kind == "location":
            _check_safeguarding(author, before, after)
        confidential = kind == "location" and domain.is_confidential(before, after)
        changes = domain.field_changes(_editable(before), _editable(after), confidential)
        if not changes:
            return False
        at = now()
        after["last_modified"] = at
        change = _change("update", kind, doc_id, author, at, changes)
        self._write_with_services(kind, collection, before, after, change)
        return True

    def _withdraw(
        self, kind: str, collection: Collection, doc_id: str, author: dict, if_version
    ) -> bool:
        before = self._existing(collection, doc_id, if_version)
        if kind == "location":
            _check_safeguarding(author, before)
        if before.get("withdrawn_at"):
            return False
        at = now()
        after = {**before, "withdrawn_at": at, "last_modified": at}
        change = _change("delete", kind, doc_id, author, at, [])
        self._write_with_services(kind, collection, before, after, change)
        return True

    def _write_with_services(
        self, kind: str, collection: Collection, before: dict, after: dict, change: dict
    ) -> None:
        """Write an organisation or location, and change and announce every current service
        it touches, in one transaction."""
        doc_id = before["_id"]
        withdrawn = after.get("withdrawn_at") is not None
        link = "organization_id" if kind == "organization" else "service_at_locations.location_id"
        updates, service_changes = [], []
        touched = {link: doc_id, "withdrawn_at": None}
        for service in self.directory.services.find(touched, outbox.WITHOUT_LOG):
            changed = _service_after(kind, doc_id, service, after, withdrawn, change["at"])
            changed |= self._derived({**service, **changed}, pending={doc_id: after})
            new_service = {**service, **changed}
            fields = domain.field_changes(_editable(service), _editable(new_service))
            gone = new_service.get("withdrawn_at") is not None
            if fields:  # the service's own history shows what its organisation did to it
                service_changes.append(_change("delete" if gone else "update", "service",
                                               service["_id"], change["by"], change["at"],
                                               fields))  # fmt: skip
            event_type = "ServiceWithdrawn" if gone else "ServiceUpdated"
            event = self._event(event_type, new_service, change, pending={doc_id: after})
            updates.append((service, changed, event))
        document = {k: val for k, val in after.items() if k != "_id"}
        document["version"] = before["version"] + 1

        # The version, and with it the confidential flag the role check read, must be as
        # read: a location flagged confidential meanwhile is not overwritten.
        unchanged = {
            "_id": doc_id,
            "version": before["version"],
            "x_confidential": True if before.get("x_confidential") else {"$ne": True},
        }

        def write(session: ClientSession) -> None:
            result = collection.replace_one(unchanged, document, session=session)
            if result.matched_count != 1:
                raise Conflict()
            for service, changed, event in updates:
                self._update_service(service, changed, event, session)
            if kind == "location" and after.get("x_confidential"):
                self._withhold_history(doc_id, session)
            self._record([change, *service_changes], session)

        self.directory.in_transaction(write)

    # ---- shared ------------------------------------------------------------------------

    def _existing(
        self, collection: Collection, doc_id: str, if_version: Versions = None
    ) -> dict[str, Any]:
        document = collection.find_one({"_id": doc_id}, outbox.WITHOUT_LOG)
        if document is None:
            raise NotFound(doc_id)
        if if_version is not None and document["version"] not in if_version:
            raise NotTheVersionRead(doc_id)
        return document

    def _current(
        self, collection: Collection, doc_id: str, if_version: Versions = None
    ) -> dict[str, Any]:
        document = self._existing(collection, doc_id, if_version)
        if document.get("withdrawn_at"):
            raise Withdrawn(doc_id)
        return document

    def _check_references(self, body: dict[str, Any]) -> None:
        errors = []
        if "organization_id" in body and not self.directory.organizations.count_documents(
            {"_id": body["organization_id"], "withdrawn_at": None}
        ):
            errors.append(_error("/organization_id", "No current organisation has this id."))
        terms = self.directory.terms()
        for i, attribute in enumerate(body.get("attributes", [])):
            if attribute["taxonomy_term_id"] not in terms:
                errors.append(
                    _error(f"/attributes/{i}/taxonomy_term_id", "No taxonomy term has this id.")
                )
        links = body.get("service_at_locations", [])
        known = self.directory.current_location_ids({link["location_id"] for link in links})
        for i, link in enumerate(links):
            if link["location_id"] not in known:
                errors.append(
                    _error(f"/service_at_locations/{i}/location_id", "No current location "
                           "has this id.")
                )  # fmt: skip
        if errors:
            raise Rejected(errors)

    def _derived(self, service: dict[str, Any], pending: dict | None = None) -> dict[str, Any]:
        """What the directory keeps beside a service so that searches stay quick."""
        org_id = service["organization_id"]
        organization = (pending or {}).get(org_id) or self.directory.organizations.find_one(
            {"_id": org_id}, {"name": 1}
        )
        return {
            "area_codes": domain.area_codes(service.get("service_areas", [])),
            "search_text": domain.search_text(service, organization["name"]),
        }

    def _event(
        self, type_name: str, service: dict, change: dict, pending: dict | None = None
    ) -> dict:
        """The event for a service as the change leaves it, as the public may see it."""
        nested = self.directory.nested([service], show_confidential=False, pending=pending)[0]
        data = {"service": NESTED_SERVICE.dump(nested), "change": _json_change(change)}
        return new_event(type_name, SOURCE, service["_id"], data)

    def _withhold_history(self, location_id: str, session: ClientSession) -> None:
        """A location made confidential keeps no trace of where it is in its history."""
        self.directory.metadata.update_many(
            {
                "resource_id": location_id,
                "resource_type": "location",
                "field_name": {"$nin": ["", *domain.PUBLIC_CONFIDENTIAL_FIELDS]},
            },
            {"$set": {"previous_value": domain.WITHHELD, "replacement_value": domain.WITHHELD}},
            session=session,
        )

    def _record(self, changes: list[dict], session: ClientSession) -> None:
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
        self.directory.metadata.insert_many(records, session=session)


def _check_safeguarding(author: dict, *states: dict) -> None:
    """A location confidential in any of these states (as read, as it would become) is
    the safeguarding role's alone."""
    if domain.is_confidential(*states) and "safeguarding" not in author.get("roles", []):
        raise Forbidden("safeguarding")


def _service_after(
    kind: str, doc_id: str, service: dict, after: dict, withdrawn: bool, at: datetime
) -> dict[str, Any]:
    """What changes in a service when its organisation or one of its locations does."""
    changed: dict[str, Any] = {"last_modified": at}
    if kind == "organization" and withdrawn:
        changed |= {"status": "inactive", "withdrawn_at": at}
    if kind == "location" and withdrawn:
        changed["service_at_locations"] = [
            link
            for link in service.get("service_at_locations", [])
            if link["location_id"] != doc_id
        ]
    return changed


def _change(action: str, kind: str, doc_id: str, author: dict, at: datetime, fields: list) -> dict:
    return {
        "action": action,
        "resource_type": kind,
        "resource_id": doc_id,
        "by": {"id": author["id"], "name": author["name"]},
        "at": at,
        "fields_changed": fields,
    }


def _json_change(change: dict) -> dict:
    return {**change, "at": change["at"].isoformat()}


def _error(pointer: str, detail: str) -> dict[str, str]:
    return {"pointer": pointer, "detail": detail}


def _editable(document: dict[str, Any]) -> dict[str, Any]:
    skip = domain.INTERNAL | {"_id", "last_modified"}
    return {k: val for k, val in document.items() if k not in skip}


def _with_child_ids(document: dict[str, Any]) -> dict[str, Any]:
    """Every nested HSDS object gets an id of its own, as HSDS asks."""
    out = dict(document)
    for name in (*CHILD_LISTS, "service_at_locations"):
        if name in out:
            out[name] = [_with_child_ids({"id": c.get("id") or new_id(), **c}) for c in out[name]]
    return out
