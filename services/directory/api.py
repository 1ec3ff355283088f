"""The directory's HTTP API: the HSDS 3.0 read API, open to anyone, and the editors'
write API. An `Authorization: Bearer` key identifies an editor; roles decide the rest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, g, request, stream_with_context, url_for
from flask_smorest import Blueprint
from marshmallow import RAISE
from pymongo.errors import DuplicateKeyError
from werkzeug.http import quote_etag

from backbone import outbox
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
from backbone.problems import Problem
from services.directory import domain
from services.directory.editing import (
    Conflict,
    Editing,
    Forbidden,
    NotFound,
    NotTheVersionRead,
    Rejected,
    Versions,
    Withdrawn,
)
from services.directory.editors import author
from services.directory.repository import Directory
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
NOT_WITHDRAWN = {"withdrawn_at": None}
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


def _directory() -> Directory:
    return current_app.extensions["directory"]


def _editing() -> Editing:
    return current_app.extensions["editing"]


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


def _not_found(what: str) -> Problem:
    return Problem(404, "Not found", f"No {what} has this id.")


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
    """Services, searched and filtered; the family's own area before national services."""
    directory = _directory()
    terms = directory.terms()
    term_id = query.get("taxonomy_term_id")
    if term_id is not None and term_id not in terms:
        raise Problem(
            422,
            "The request has invalid fields",
            errors=[{"pointer": "/taxonomy_term_id", "detail": "No taxonomy term has this id."}],
        )
    local_authorities = domain.local_authorities_for(
        query.get("local_authority"), query.get("referring_team")
    )
    ranked = domain.rank(
        directory.candidates(_service_filter(query, local_authorities)),
        query.get("search", ""),
        local_authorities,
        {term_id: term["name"] for term_id, term in terms.items()},
    )
    show = _sees_confidential()
    if query["format"] == "ndjson":
        return _ndjson(directory, ranked, show)
    page, per_page = _page_number(query, len(ranked))
    ids = ranked[(page - 1) * per_page : page * per_page]
    contents = directory.nested(directory.services_by_id(ids), show, terms=terms)
    return domain.page_envelope(contents, len(ranked), page, per_page)


def _page_number(query: dict[str, Any], total: int) -> tuple[int, int]:
    """The page asked for; one past the last is a mistake worth saying (page 1 of
    nothing is an empty answer, not a mistake)."""
    page, per_page = query["page"], query["per_page"]
    last = max(1, -(-total // per_page))
    if page > last:
        raise Problem(
            422,
            "The request has invalid fields",
            errors=[{"pointer": "/page", "detail": f"There are {last} pages of {per_page}."}],
        )
    return page, per_page


def _service_filter(query: dict[str, Any], local_authorities: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = dict(NOT_WITHDRAWN)
    if "organization_id" in query:
        found["organization_id"] = query["organization_id"]
    if "taxonomy_term_id" in query:
        found["attributes.taxonomy_term_id"] = query["taxonomy_term_id"]
    if "modified_after" in query:
        found["last_modified"] = {"$gt": query["modified_after"]}
    if local_authorities:
        found["area_codes"] = {"$in": [*local_authorities, domain.NATIONAL]}
    return found


def _ndjson(directory: Directory, ids: list[str], show_confidential: bool) -> Response:
    def lines() -> Iterator[str]:
        for service in directory.nested_in_batches(ids, show_confidential):
            yield json.dumps(NESTED_SERVICE.dump(service), separators=(",", ":")) + "\n"

    return Response(stream_with_context(lines()), mimetype="application/x-ndjson")


@blp.get("/services/<service_id>")
@blp.response(200, NestedServiceSchema())
def get_service(service_id: str):
    """One service, fully nested. A withdrawn service answers with status 'inactive'."""
    return _service(service_id)


Answer = tuple[dict[str, Any], int, dict[str, str]]  # body, status, headers


def _service(service_id: str) -> Answer:
    directory = _directory()
    found = directory.services_by_id([service_id])
    if not found:
        raise _not_found("service")
    return directory.nested(found, _sees_confidential())[0], 200, _etag(found[0])


def _etag(document: dict[str, Any]) -> dict[str, str]:
    return {"ETag": quote_etag(str(document["version"]))}


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
    return _page("organizations", NOT_WITHDRAWN, query)


@blp.get("/organizations/<organization_id>")
@blp.response(200, OrganizationSchema())
def get_organization(organization_id: str):
    return _organization(organization_id)


def _organization(organization_id: str) -> Answer:
    organization = _directory().organizations.find_one({"_id": organization_id})
    if organization is None:
        raise _not_found("organisation")
    return domain.as_hsds(organization), 200, _etag(organization)


@blp.get("/locations/<location_id>")
@blp.response(200, LocationSchema())
def get_location(location_id: str):
    """A location. A confidential one shows its address only to the safeguarding role."""
    return _location(location_id)


def _location(location_id: str) -> Answer:
    stored = _directory().locations.find_one({"_id": location_id})
    if stored is None:
        raise _not_found("location")
    location = domain.as_hsds(stored)
    shown = location if _sees_confidential() else domain.public_location(location)
    return shown, 200, _etag(stored)


@blp.get("/taxonomies")
@blp.arguments(PagingSchema(), location="query", unknown=RAISE)
@blp.response(200, TaxonomyPageSchema())
def list_taxonomies(query: dict[str, Any]):
    return _page("taxonomies", {}, query)


@blp.get("/taxonomies/<taxonomy_id>")
@blp.response(200, TaxonomySchema())
def get_taxonomy(taxonomy_id: str):
    taxonomy = _directory().taxonomies.find_one({"_id": taxonomy_id})
    if taxonomy is None:
        raise _not_found("taxonomy")
    return domain.as_hsds(taxonomy)


@blp.get("/taxonomy_terms")
@blp.arguments(TaxonomyTermQuerySchema(), location="query", unknown=RAISE)
@blp.response(200, TaxonomyTermPageSchema())
def list_taxonomy_terms(query: dict[str, Any]):
    """Taxonomy terms, such as the needs a service answers."""
    found = {"taxonomy_id": query["taxonomy_id"]} if "taxonomy_id" in query else {}
    return _page("taxonomy_terms", found, query)


@blp.get("/taxonomy_terms/<term_id>")
@blp.response(200, TaxonomyTermSchema())
def get_taxonomy_term(term_id: str):
    term = _directory().taxonomy_terms.find_one({"_id": term_id})
    if term is None:
        raise _not_found("taxonomy term")
    return domain.as_hsds(term)


def _page(collection: str, found: dict[str, Any], query: dict[str, Any]) -> dict[str, Any]:
    """A page of a small collection, filtered by name words when `search` is given."""
    documents = _directory().db[collection].find(found, outbox.WITHOUT_LOG)
    matching = sorted(
        (d for d in documents if domain.matches(query.get("search", ""), d["name"])),
        key=lambda d: (d["name"].casefold(), d["_id"]),
    )
    page, per_page = _page_number(query, len(matching))
    contents = [domain.as_hsds(d) for d in matching[(page - 1) * per_page : page * per_page]]
    return domain.page_envelope(contents, len(matching), page, per_page)


# ---- the editors' write API ----------------------------------------------------------


@blp.post("/services")
@blp.arguments(ServiceWriteSchema())
@blp.response(201, NestedServiceSchema())
@blp.doc(security=EDITOR_WRITE["security"])
def create_service(body: dict[str, Any]):
    """Add a service (editor role). Announced as ServicePublished."""
    service_id = _write(lambda: _editing().create_service(body, author(g.caller)))
    return _created(_service(service_id), url_for("directory.get_service", service_id=service_id))


def _created(answer: Answer, location: str) -> Answer:
    body, _, headers = answer
    return body, 201, {**headers, "Location": location}


@blp.patch("/services/<service_id>")
@blp.arguments(for_patch(ServiceWriteSchema))
@blp.response(200, NestedServiceSchema())
@blp.doc(**EDITOR_WRITE)
def update_service(body: dict[str, Any], service_id: str):
    """Change the fields given (editor role). Announced as ServiceUpdated."""
    change = _editing().update_service
    _write(lambda: change(service_id, body, author(g.caller), _if_version()), "service")
    return _service(service_id)


@blp.delete("/services/<service_id>")
@blp.response(200, NestedServiceSchema())
@blp.doc(**EDITOR_WRITE)
def withdraw_service(service_id: str):
    """Withdraw a service (editor role): families are no longer signposted to it.
    Announced as ServiceWithdrawn."""
    change = _editing().withdraw_service
    _write(lambda: change(service_id, author(g.caller), _if_version()), "service")
    return _service(service_id)


@blp.post("/organizations")
@blp.arguments(OrganizationSchema())
@blp.response(201, OrganizationSchema())
@blp.doc(security=EDITOR_WRITE["security"])
def create_organization(body: dict[str, Any]):
    """Add an organisation (editor role)."""
    org_id = _write(lambda: _editing().create_organization(body, author(g.caller)))
    location = url_for("directory.get_organization", organization_id=org_id)
    return _created(_organization(org_id), location)


@blp.patch("/organizations/<organization_id>")
@blp.arguments(for_patch(OrganizationSchema))
@blp.response(200, OrganizationSchema())
@blp.doc(**EDITOR_WRITE)
def update_organization(body: dict[str, Any], organization_id: str):
    """Change an organisation (editor role): each of its services is announced as
    ServiceUpdated."""
    change = _editing().update_organization
    _write(lambda: change(organization_id, body, author(g.caller), _if_version()), "organisation")
    return _organization(organization_id)


@blp.delete("/organizations/<organization_id>")
@blp.response(200, OrganizationSchema())
@blp.doc(**EDITOR_WRITE)
def withdraw_organization(organization_id: str):
    """Withdraw an organisation and all its services (editor role)."""
    change = _editing().withdraw_organization
    _write(lambda: change(organization_id, author(g.caller), _if_version()), "organisation")
    return _organization(organization_id)


@blp.post("/locations")
@blp.arguments(LocationSchema())
@blp.response(201, LocationSchema())
@blp.doc(security=EDITOR_WRITE["security"])
def create_location(body: dict[str, Any]):
    """Add a location (editor role; a confidential one needs safeguarding too)."""
    location_id = _write(lambda: _editing().create_location(body, author(g.caller)))
    location = url_for("directory.get_location", location_id=location_id)
    return _created(_location(location_id), location)


@blp.patch("/locations/<location_id>")
@blp.arguments(for_patch(LocationSchema))
@blp.response(200, LocationSchema())
@blp.doc(**EDITOR_WRITE)
def update_location(body: dict[str, Any], location_id: str):
    """Change a location (editor role; a confidential one needs safeguarding too).
    Each service offered there is announced as ServiceUpdated."""
    change = _editing().update_location
    _write(lambda: change(location_id, body, author(g.caller), _if_version()), "location")
    return _location(location_id)


@blp.delete("/locations/<location_id>")
@blp.response(200, LocationSchema())
@blp.doc(**EDITOR_WRITE)
def withdraw_location(location_id: str):
    """Withdraw a location (editor role; a confidential one needs safeguarding too);
    services offered there stay, without it."""
    change = _editing().withdraw_location
    _write(lambda: change(location_id, author(g.caller), _if_version()), "location")
    return _location(location_id)


@blp.get("/metadata")
@blp.arguments(MetadataQuerySchema(), location="query", unknown=RAISE)
@blp.response(200, MetadataSchema(many=True))
@blp.doc(security=[{"editorKey": []}])
def list_metadata(query: dict[str, Any]):
    """Who changed a resource, when, and its values before and after (editor role)."""
    require_role("editor")
    records = _directory().metadata.find({"resource_id": query["resource_id"]})
    return [domain.as_hsds(record) for record in records.sort("last_action_date")]


def _write(change, what: str = "resource"):
    """Run a change, answering its failures as problems; nothing is written on failure."""
    try:
        return change()
    except Rejected as rejected:
        raise Problem(
            422, "The request refers to what does not exist", errors=rejected.errors
        ) from None
    except NotFound:
        raise _not_found(what) from None
    except Forbidden as forbidden:
        raise Problem(403, "Forbidden", f"This needs the '{forbidden.role}' role.") from None
    except NotTheVersionRead:
        raise Problem(
            412,
            "Precondition failed",
            f"The {what} has changed since the version named in If-Match: read it again.",
        ) from None
    except Withdrawn:
        raise Problem(
            409, "Withdrawn", f"This {what} is withdrawn: it is kept for the record, not changed."
        ) from None
    except (Conflict, DuplicateKeyError):
        raise Problem(
            409, "Conflict", f"The {what} changed meanwhile, or the id is taken."
        ) from None
