"""Changes to the directory: each writes the resource, its HSDS metadata and an event for
every service it touches, in one transaction.

Callers pass bodies already validated against the HSDS schemas; this layer checks what
only the database knows (that an organisation, location or taxonomy term exists) and
raises `Rejected` with a pointer to each bad field before anything is written.
"""

from __future__ import annotations

from typing import Any

from pymongo.client_session import ClientSession

from backbone import outbox
from backbone.clock import now
from backbone.events.envelope import new_event
from backbone.events.hsds import NestedServiceSchema
from backbone.ids import new_id
from services.directory import SOURCE, domain
from services.directory.repository import Directory

NESTED = NestedServiceSchema()
CHILD_LISTS = ("phones", "schedules", "contacts", "service_areas", "attributes", "addresses")


class Rejected(Exception):
    """The change refers to what does not exist; nothing was written."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['pointer']}: {e['detail']}" for e in errors))
        self.errors = errors


class NotFound(LookupError):
    pass


class Editing:
    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    # ---- services ----------------------------------------------------------------------

    def create_service(
        self, body: dict[str, Any], author: dict[str, str], service_id: str | None = None
    ) -> str:
        self._check_references(body)
        service = _with_child_ids({**body, "_id": service_id or body.get("id") or new_id()})
        service.pop("id", None)
        at = now()
        organization = self.directory.organizations.find_one({"_id": service["organization_id"]})
        service.update(
            _derived(service, organization["name"]), last_modified=at, version=1, withdrawn_at=None
        )
        change = _change("create", "service", service["_id"], author, at, [])
        event = self._event("ServicePublished", service, change)

        def write(session: ClientSession) -> None:
            self.directory.services.insert_one(outbox.with_events(service, event), session=session)
            self._record(change, session)

        self.directory.in_transaction(write)
        return service["_id"]

    def update_service(self, service_id: str, body: dict[str, Any], author: dict[str, str]) -> bool:
        """Apply the fields given; answer whether anything changed."""
        before = self._existing(self.directory.services, service_id)
        self._check_references(body)
        after = _with_child_ids({**before, **body})
        after.pop("id", None)
        changes = domain.field_changes(_editable(before), _editable(after))
        if not changes:
            return False
        at = now()
        organization = self.directory.organizations.find_one({"_id": after["organization_id"]})
        after.update(_derived(after, organization["name"]), last_modified=at)
        change = _change("update", "service", service_id, author, at, changes)
        event = self._event("ServiceUpdated", after, change)
        self._replace_service(before, after, event, change)
        return True

    def withdraw_service(self, service_id: str, author: dict[str, str]) -> bool:
        before = self._existing(self.directory.services, service_id)
        if before.get("withdrawn_at"):
            return False
        at = now()
        after = {**before, "status": "inactive", "withdrawn_at": at, "last_modified": at}
        change = _change(
            "delete", "service", service_id, author, at,
            domain.field_changes({"status": before["status"]}, {"status": "inactive"}),
        )  # fmt: skip
        event = self._event("ServiceWithdrawn", after, change)
        self._replace_service(before, after, event, change)
        return True

    def _replace_service(
        self, before: dict[str, Any], after: dict[str, Any], event: dict, change: dict
    ) -> None:
        after = {k: val for k, val in after.items() if k not in ("_id", "outbox", "version")}

        def write(session: ClientSession) -> None:
            result = self.directory.services.update_one(
                {"_id": before["_id"], "version": before["version"]},
                {"$set": after, "$inc": {"version": 1}, **outbox.push_events(event)},
                session=session,
            )
            if result.matched_count != 1:
                raise Conflict()
            self._record(change, session)

        self.directory.in_transaction(write)

    # ---- organisations and locations ----------------------------------------------------

    def create_organization(self, body: dict[str, Any], author: dict[str, str]) -> str:
        return self._create("organization", self.directory.organizations, body, author)

    def create_location(self, body: dict[str, Any], author: dict[str, str]) -> str:
        return self._create("location", self.directory.locations, body, author)

    def update_organization(self, org_id: str, body: dict[str, Any], author: dict) -> bool:
        return self._update("organization", self.directory.organizations, org_id, body, author)

    def update_location(self, location_id: str, body: dict[str, Any], author: dict) -> bool:
        return self._update("location", self.directory.locations, location_id, body, author)

    def withdraw_organization(self, org_id: str, author: dict[str, str]) -> bool:
        """The organisation goes, and with it every service it offers."""
        return self._withdraw("organization", self.directory.organizations, org_id, author)

    def withdraw_location(self, location_id: str, author: dict[str, str]) -> bool:
        """The location goes; services offered there stay, without it."""
        return self._withdraw("location", self.directory.locations, location_id, author)

    def _create(self, kind: str, collection, body: dict[str, Any], author: dict) -> str:
        document = _with_child_ids({**body, "_id": body.get("id") or new_id()})
        document.pop("id", None)
        at = now()
        document.update(created_at=at, last_modified=at, withdrawn_at=None)
        change = _change("create", kind, document["_id"], author, at, [])

        def write(session: ClientSession) -> None:
            collection.insert_one(document, session=session)
            self._record(change, session)

        self.directory.in_transaction(write)
        return document["_id"]

    def _update(self, kind: str, collection, doc_id: str, body: dict, author: dict) -> bool:
        before = self._existing(collection, doc_id)
        after = _with_child_ids({**before, **body})
        after.pop("id", None)
        confidential = bool(before.get("x_confidential") or after.get("x_confidential"))
        changes = domain.field_changes(_editable(before), _editable(after), confidential)
        if not changes:
            return False
        at = now()
        after["last_modified"] = at
        change = _change("update", kind, doc_id, author, at, changes)
        self._touch_services(kind, doc_id, after, change, collection, "ServiceUpdated")
        return True

    def _withdraw(self, kind: str, collection, doc_id: str, author: dict) -> bool:
        before = self._existing(collection, doc_id)
        if before.get("withdrawn_at"):
            return False
        at = now()
        after = {**before, "withdrawn_at": at, "last_modified": at}
        change = _change("delete", kind, doc_id, author, at, [])
        event_type = "ServiceWithdrawn" if kind == "organization" else "ServiceUpdated"
        self._touch_services(kind, doc_id, after, change, collection, event_type)
        return True

    def _touch_services(
        self, kind: str, doc_id: str, after: dict, change: dict, collection, event_type: str
    ) -> None:
        """Write an organisation or location, and announce every service it changes."""
        link = "organization_id" if kind == "organization" else "service_at_locations.location_id"
        affected = list(self.directory.services.find({link: doc_id, "withdrawn_at": None}))
        updates = []
        for service in affected:
            changed = {"last_modified": change["at"]}
            if event_type == "ServiceWithdrawn":
                changed |= {"status": "inactive", "withdrawn_at": change["at"]}
            if kind == "location" and after.get("withdrawn_at"):
                changed["service_at_locations"] = [
                    s for s in service.get("service_at_locations", []) if s["location_id"] != doc_id
                ]
            if kind == "organization":
                changed |= _derived({**service, **changed}, after["name"])
            event = self._event(event_type, {**service, **changed}, change, {doc_id: after})
            updates.append((service, changed, event))
        document = {k: val for k, val in after.items() if k != "_id"}

        def write(session: ClientSession) -> None:
            collection.replace_one({"_id": doc_id}, {"_id": doc_id, **document}, session=session)
            for service, changed, event in updates:
                result = self.directory.services.update_one(
                    {"_id": service["_id"], "version": service["version"]},
                    {"$set": changed, "$inc": {"version": 1}, **outbox.push_events(event)},
                    session=session,
                )
                if result.matched_count != 1:  # edited meanwhile: the whole change aborts
                    raise Conflict()
            self._record(change, session)

        self.directory.in_transaction(write)

    # ---- shared ------------------------------------------------------------------------

    def _existing(self, collection, doc_id: str) -> dict[str, Any]:
        document = collection.find_one({"_id": doc_id}, {"outbox": 0})
        if document is None:
            raise NotFound(doc_id)
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
        wanted = {link["location_id"] for link in links}
        known = {
            loc["_id"]
            for loc in self.directory.locations.find(
                {"_id": {"$in": list(wanted)}, "withdrawn_at": None}, {"_id": 1}
            )
        }
        for i, link in enumerate(links):
            if link["location_id"] not in known:
                errors.append(
                    _error(f"/service_at_locations/{i}/location_id", "No current location "
                           "has this id.")
                )  # fmt: skip
        if errors:
            raise Rejected(errors)

    def _event(
        self, type_name: str, service: dict, change: dict, pending: dict | None = None
    ) -> dict:
        """The event for a service as the change leaves it, as the public may see it."""
        nested = self.directory.nested([service], show_confidential=False, pending=pending)[0]
        data = {"service": NESTED.dump(nested), "change": _json_change(change)}
        return new_event(type_name, SOURCE, service["_id"], data)

    def _record(self, change: dict, session: ClientSession) -> None:
        """HSDS metadata: one record per changed field, or one for a create or delete."""
        fields = change["fields_changed"] or [
            {"field_name": "", "previous_value": "", "replacement_value": ""}
        ]
        self.directory.metadata.insert_many(
            [
                {
                    "_id": new_id(),
                    "resource_id": change["resource_id"],
                    "resource_type": change["resource_type"],
                    "last_action_date": change["at"],
                    "last_action_type": change["action"],
                    **field,
                    "updated_by": change["by"]["id"],
                    "updated_by_name": change["by"]["name"],
                }
                for field in fields
            ],
            session=session,
        )


class Conflict(Exception):
    """Someone else changed the service meanwhile; the caller may retry."""


def _change(action: str, kind: str, doc_id: str, author: dict, at, fields: list) -> dict:
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


def _derived(service: dict[str, Any], organization_name: str) -> dict[str, Any]:
    """What the directory keeps beside a service so that searches stay quick."""
    return {
        "area_codes": domain.area_codes(service.get("service_areas", [])),
        "search_text": domain.search_text(service, organization_name),
    }


def _editable(document: dict[str, Any]) -> dict[str, Any]:
    skip = domain.INTERNAL | {"_id", "last_modified"}
    return {k: val for k, val in document.items() if k not in skip}


def _with_child_ids(document: dict[str, Any]) -> dict[str, Any]:
    """Every nested HSDS object gets an id of its own, as HSDS asks."""
    out = dict(document)
    for name in (*CHILD_LISTS, "service_at_locations"):
        if name in out:
            out[name] = [{"id": child.get("id") or new_id(), **child} for child in out[name]]
    return out
