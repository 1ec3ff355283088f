"""The directory's rules, free of I/O: areas, what the public may see, nesting, paging and
the record of a change. How services are searched: search.py."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

from backbone import outbox
from backbone.events import vocabulary
from backbone.events.hsds import NATIONAL_AREA

NATIONAL = "SCOTLAND"
_AREA_CODES = {name: code for code, name in vocabulary.LOCAL_AUTHORITIES.items()} | {
    NATIONAL_AREA: NATIONAL
}
# A confidential location shows the public only these: never where it is.
PUBLIC_CONFIDENTIAL_FIELDS = ("id", "location_type", "name", "x_confidential", "x_safe_contact")
WITHHELD = "withheld: confidential location"


def area_codes(service_areas: Iterable[dict[str, Any]]) -> list[str]:
    """The codes a service's areas are searched by: local authority codes, or SCOTLAND."""
    return sorted({_AREA_CODES[area["name"]] for area in service_areas})


def local_authorities_for(
    local_authority: str | None = None, referring_team: str | None = None
) -> list[str]:
    """The local authorities a search is about: one, or those of a referring team."""
    if local_authority:
        return [local_authority]
    if referring_team:
        return list(vocabulary.TEAM_LOCAL_AUTHORITIES.get(referring_team, []))
    return []


def public_location(location: dict[str, Any]) -> dict[str, Any]:
    """A location as anyone may see it: a confidential one keeps its address to itself."""
    if not location.get("x_confidential"):
        return location
    return {key: location[key] for key in PUBLIC_CONFIDENTIAL_FIELDS if key in location}


def is_confidential(*states: dict[str, Any]) -> bool:
    """Whether a location is confidential in any of these states (before or after a
    change): changing it then needs the safeguarding role."""
    return any(state.get("x_confidential") for state in states)


def nest(
    service: dict[str, Any],
    organization: dict[str, Any],
    locations: dict[str, dict[str, Any]],
    terms: dict[str, dict[str, Any]],
    show_confidential: bool,
) -> dict[str, Any]:
    """The fully nested HSDS service, from the stored documents."""
    nested = {key: value for key, value in service.items() if key in SERVICE_FIELDS}
    nested["id"] = service["_id"]
    nested["organization"] = as_hsds(organization)
    nested["attributes"] = [
        {**link, "taxonomy_term": as_hsds(terms[link["taxonomy_term_id"]])}
        for link in service.get("attributes", [])
        if link["taxonomy_term_id"] in terms
    ]
    links = []
    for link in service.get("service_at_locations", []):
        location = locations.get(link["location_id"])
        if location is None:  # withdrawn meanwhile
            continue
        location = as_hsds(location)
        links.append(
            {
                "id": link["id"],
                **({"description": link["description"]} if "description" in link else {}),
                "location": location if show_confidential else public_location(location),
            }
        )
    nested["service_at_locations"] = links
    return nested


SERVICE_FIELDS = {
    "name",
    "alternate_name",
    "description",
    "url",
    "email",
    "status",
    "application_process",
    "fees_description",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "alert",
    "phones",
    "schedules",
    "contacts",
    "service_areas",
    "last_modified",
}


def as_hsds(document: dict[str, Any]) -> dict[str, Any]:
    """A stored document in HSDS form: `_id` is `id`, bookkeeping left out."""
    shown = {
        key: value
        for key, value in document.items()
        if not key.startswith("_") and key not in INTERNAL
    }
    return {"id": document["_id"], **shown}


INTERNAL = {
    *outbox.LOG_FIELDS,
    "version",
    "area_codes",
    "sort_name",
    "name_prefixes",
    "word_weights",
    "area_words",
    "listing_number",
    "withdrawn_at",
    "created_at",
}
WORDS = {"organization": "organisation", "location": "location", "service": "service"}


# ---- paging ---------------------------------------------------------------------------


def page_envelope(
    contents: list[dict[str, Any]], total: int, page: int, per_page: int
) -> dict[str, Any]:
    """The HSDS page: where this page sits among all, and its contents."""
    total_pages = math.ceil(total / per_page)
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page,
        "size": len(contents),
        "first_page": page == 1,
        "last_page": page >= total_pages,
        "empty": not contents,
        "contents": contents,
    }


# ---- changes --------------------------------------------------------------------------


def field_changes(
    before: dict[str, Any], after: dict[str, Any], confidential: bool = False
) -> list[dict[str, str]]:
    """Each field that differs, with its values before and after as JSON text. Of a
    confidential location only what the public sees is shown; any other field is recorded
    as changed, its values withheld."""
    changes = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        hidden = confidential and name not in PUBLIC_CONFIDENTIAL_FIELDS
        changes.append(
            {
                "field_name": name,
                "previous_value": WITHHELD if hidden else _as_text(old),
                "replacement_value": WITHHELD if hidden else _as_text(new),
            }
        )
    return changes


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
