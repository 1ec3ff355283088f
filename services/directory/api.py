"""The directory's HTTP API: the HSDS 3.0 read API, open to anyone, and the editors'
write API. An `Authorization: Bearer` key identifies an editor; roles decide the rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, g, request, stream_with_context, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE
from werkzeug.http import quote_etag

from backbone.api_keys import require_role
from backbone.events.hsds import (
    HSDS_VERSION,
    NESTED_SERVICE,
    PROFILE,
    LocationSchema,
    MetadataSchema,
    NestedServiceSchema,
    OrganizationSchema,
    ServiceWriteSchema,
    TaxonomySchema,
    TaxonomyTermSchema,
)
from services.directory.editors import author
from services.directory.operations import DirectoryOperations, Versioned, Versions
from services.directory.schemas import (
    ApiInfoSchema,
    MetadataQuerySchema,
    OrganizationPageSchema,
    OrganizationQuerySchema,
    PagingSchema,
    ServicePageSchema,
    ServiceQuerySchema,
    TaxonomyPageSchema,
    TaxonomyTermPageSchema,
    TaxonomyTermQuerySchema,
    for_patch,
)

blp = Blueprint(
    "directory",
    __name__,
    description="Open Referral HSDS 3.0: agencies to signpost families to. Reads are "
    "public; writes need a directory editor's key.",
)
WRITES = ("POST", "PATCH", "DELETE")
# Every organisation, location and service answers with its version as its ETag; a change
# sent with If-Match is made only to the version named, else answers 412.
EDITOR_WRITE = {
    "security": [{"editorKey": []}],
    "parameters": [
        {
            "in": "header",
            "name": "If-Match",
            "required": False,
            "schema": {"type": "string"},
            "description": "The ETag of the version read: a change to any other is refused "
            "(412) rather than overwriting what someone else changed meanwhile.",
        }
    ],
}


def _operations() -> DirectoryOperations:
    return current_app.extensions["operations"]


@blp.before_request
def writes_need_an_editor() -> None:
    """Reads need no key (a key that is sent must be good); writes and the change history
    need the editor role, checked before any input is read: a keyless caller learns nothing."""
    if request.method in WRITES or request.endpoint == "directory.list_metadata":
        require_role("editor")


@blp.after_request
def cache_and_cors(response: Response) -> Response:
    """Public reads may be used from any web page (Open Referral UK asks for this);
    what an editor's key unlocked is for that editor alone."""
    if g.get("caller") is None:
        if request.method in ("GET", "HEAD"):
            response.headers["Access-Control-Allow-Origin"] = "*"
    else:
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Vary"] = "Authorization"
    return response


def _sees_confidential() -> bool:
    return g.caller is not None and "safeguarding" in g.caller.get("roles", [])


# ---- the HSDS read API ---------------------------------------------------------------


@blp.get("/")
@blp.response(200, ApiInfoSchema())
def api_info():
    """What this API is: its HSDS version and profile, and where its OpenAPI is."""
    return {
        "version": HSDS_VERSION,
        "profile": PROFILE,
        "openapi_url": current_app.config["PUBLIC_URL"] + url_for("api-docs.openapi_json"),
        "description": "Family Ties agency directory: services that families of prisoners "
        "and ex-prisoners in the west of Scotland are signposted to.",
    }


@blp.get("/services")
@blp.arguments(ServiceQuerySchema(), location="query", unknown=RAISE)
@blp.response(200, ServicePageSchema())
@blp.alt_response(200, schema=NestedServiceSchema, content_type="application/x-ndjson")
def list_services(query: dict[str, Any]):
    """Services, searched and filtered. A search (words, or an area) puts the family's own
    area before national services, then the better match; any other list comes in the
    order services were added."""
    operations = _operations()
    search = operations.service_search(query)
    if query["format"] == "ndjson":
        return _ndjson(operations.every_service(search, _sees_confidential()))
    return operations.page_of_services(
        search, query["page"], query["per_page"], _sees_confidential()
    )


def _ndjson(services: Iterator[dict[str, Any]]) -> Response:
    def lines() -> Iterator[str]:
        for service in services:
            yield json.dumps(NESTED_SERVICE.dump(service), separators=(",", ":")) + "\n"

    return Response(stream_with_context(lines()), mimetype="application/x-ndjson")


@blp.get("/services/<service_id>")
@blp.response(200, NestedServiceSchema())
def get_service(service_id: str):
    """One service, fully nested. A withdrawn service answers with status 'inactive'."""
    return _with_etag(_operations().service(service_id, _sees_confidential()))


ViewResult = tuple[dict[str, Any], int, dict[str, str]]  # body, status, headers


def _with_etag(versioned: Versioned, status: int = 200) -> ViewResult:
    shown, version = versioned
    return shown, status, {"ETag": quote_etag(str(version))}


def _if_version() -> Versions:
    """The versions If-Match names (our ETags are versions); None when any will do."""
    if_match = request.if_match
    if not if_match or if_match.star_tag:
        return None
    tags = if_match.as_set()  # strong tags only: If-Match compares strongly
    return frozenset(int(tag) for tag in tags if tag and tag.isdigit())


@blp.get("/organizations")
@blp.arguments(OrganizationQuerySchema(), location="query", unknown=RAISE)
@blp.response(200, OrganizationPageSchema())
def list_organizations(query: dict[str, Any]):
    """Organisations offering services, by name."""
    return _operations().page_by_name("organizations", {"withdrawn_at": None}, query)


@blp.get("/organizations/<organization_id>")
@blp.response(200, OrganizationSchema())
def get_organization(organization_id: str):
    return _with_etag(_operations().organization(organization_id))


@blp.get("/locations/<location_id>")
@blp.response(200, LocationSchema())
def get_location(location_id: str):
    """A location. A confidential one shows its address only to the safeguarding role."""
    return _with_etag(_operations().location(location_id, _sees_confidential()))


@blp.get("/taxonomies")
@blp.arguments(PagingSchema(), location="query", unknown=RAISE)
@blp.response(200, TaxonomyPageSchema())
def list_taxonomies(query: dict[str, Any]):
    return _operations().page_by_name("taxonomies", {}, query)


@blp.get("/taxonomies/<taxonomy_id>")
@blp.response(200, TaxonomySchema())
def get_taxonomy(taxonomy_id: str):
    return _operations().taxonomy(taxonomy_id)


@blp.get("/taxonomy_terms")
@blp.arguments(TaxonomyTermQuerySchema(), location="query", unknown=RAISE)
@blp.response(200, TaxonomyTermPageSchema())
def list_taxonomy_terms(query: dict[str, Any]):
    """Taxonomy terms, such as the needs a service answers."""
    found = {"taxonomy_id": query["taxonomy_id"]} if "taxonomy_id" in query else {}
    return _operations().page_by_name("taxonomy_terms", found, query)


@blp.get("/taxonomy_terms/<term_id>")
@blp.response(200, TaxonomyTermSchema())
def get_taxonomy_term(term_id: str):
    return _operations().taxonomy_term(term_id)


# ---- the editors' write API ----------------------------------------------------------


@blp.post("/services")
@blp.arguments(ServiceWriteSchema())
@blp.response(201, NestedServiceSchema())
@blp.doc(security=EDITOR_WRITE["security"])
def create_service(body: dict[str, Any]):
    """Add a service (editor role). Announced as ServicePublished."""
    operations = _operations()
    service_id = operations.create_service(body, author(g.caller))
    location = url_for("directory.get_service", service_id=service_id)
    return _created(operations.service(service_id, _sees_confidential()), location)


def _created(versioned: Versioned, location: str) -> ViewResult:
    shown, status, headers = _with_etag(versioned, 201)
    return shown, status, {**headers, "Location": location}


@blp.patch("/services/<service_id>")
@blp.arguments(for_patch(ServiceWriteSchema))
@blp.response(200, NestedServiceSchema())
@blp.doc(**EDITOR_WRITE)
def update_service(body: dict[str, Any], service_id: str):
    """Change the fields given (editor role). Announced as ServiceUpdated."""
    operations = _operations()
    operations.update_service(service_id, body, author(g.caller), _if_version())
    return _with_etag(operations.service(service_id, _sees_confidential()))


@blp.delete("/services/<service_id>")
@blp.response(200, NestedServiceSchema())
@blp.doc(**EDITOR_WRITE)
def withdraw_service(service_id: str):
    """Withdraw a service (editor role): families are no longer signposted to it.
    Announced as ServiceWithdrawn."""
    operations = _operations()
    operations.withdraw_service(service_id, author(g.caller), _if_version())
    return _with_etag(operations.service(service_id, _sees_confidential()))


@blp.post("/organizations")
@blp.arguments(OrganizationSchema())
@blp.response(201, OrganizationSchema())
@blp.doc(security=EDITOR_WRITE["security"])
def create_organization(body: dict[str, Any]):
    """Add an organisation (editor role)."""
    operations = _operations()
    organization_id = operations.create_organization(body, author(g.caller))
    location = url_for("directory.get_organization", organization_id=organization_id)
    return _created(operations.organization(organization_id), location)


@blp.patch("/organizations/<organization_id>")
@blp.arguments(for_patch(OrganizationSchema))
@blp.response(200, OrganizationSchema())
@blp.doc(**EDITOR_WRITE)
def update_organization(body: dict[str, Any], organization_id: str):
    """Change an organisation (editor role): each of its services is announced as
    ServiceUpdated."""
    operations = _operations()
    operations.update_organization(organization_id, body, author(g.caller), _if_version())
    return _with_etag(operations.organization(organization_id))


@blp.delete("/organizations/<organization_id>")
@blp.response(200, OrganizationSchema())
@blp.doc(**EDITOR_WRITE)
def withdraw_organization(organization_id: str):
    """Withdraw an organisation and all its services (editor role)."""
    operations = _operations()
    operations.withdraw_organization(organization_id, author(g.caller), _if_version())
    return _with_etag(operations.organization(organization_id))


@blp.post("/locations")
@blp.arguments(LocationSchema())
@blp.response(201, LocationSchema())
@blp.doc(security=EDITOR_WRITE["security"])
def create_location(body: dict[str, Any]):
    """Add a location (editor role; a confidential one needs safeguarding too)."""
    operations = _operations()
    location_id = operations.create_location(body, author(g.caller))
    location = url_for("directory.get_location", location_id=location_id)
    return _created(operations.location(location_id, _sees_confidential()), location)


@blp.patch("/locations/<location_id>")
@blp.arguments(for_patch(LocationSchema))
@blp.response(200, LocationSchema())
@blp.doc(**EDITOR_WRITE)
def update_location(body: dict[str, Any], location_id: str):
    """Change a location (editor role; a confidential one needs safeguarding too).
    Each service offered there is announced as ServiceUpdated."""
    operations = _operations()
    operations.update_location(location_id, body, author(g.caller), _if_version())
    return _with_etag(operations.location(location_id, _sees_confidential()))


@blp.delete("/locations/<location_id>")
@blp.response(200, LocationSchema())
@blp.doc(**EDITOR_WRITE)
def withdraw_location(location_id: str):
    """Withdraw a location (editor role; a confidential one needs safeguarding too);
    services offered there stay, without it."""
    operations = _operations()
    operations.withdraw_location(location_id, author(g.caller), _if_version())
    return _with_etag(operations.location(location_id, _sees_confidential()))


@blp.get("/metadata")
@blp.arguments(MetadataQuerySchema(), location="query", unknown=RAISE)
@blp.response(200, MetadataSchema(many=True))
@blp.doc(security=[{"editorKey": []}])
def list_metadata(query: dict[str, Any]):
    """Who changed a resource, when, and its values before and after (editor role, checked
    before the query is read: see `writes_need_an_editor`)."""
    return _operations().history(query["resource_id"])
