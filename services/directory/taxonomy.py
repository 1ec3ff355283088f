"""The needs taxonomy: intake's vocabulary of needs, so that a family's needs and the
services that answer them meet on the same terms."""

from __future__ import annotations

import uuid
from typing import Any

from backbone.events import vocabulary
from services.directory.repository import Directory
from services.directory.search import name_fields

# HSDS ids are UUIDs; these are derived from names, so every installation agrees on them.
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://familyties.example/taxonomies/needs")
NEEDS_TAXONOMY_ID = str(_NAMESPACE)


def need_term_id(code: str) -> str:
    """The taxonomy term id of a need in intake's vocabulary, e.g. 'bereavement'."""
    return str(uuid.uuid5(_NAMESPACE, code))


def needs_taxonomy() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    taxonomy = {
        "_id": NEEDS_TAXONOMY_ID,
        "name": "Family Ties needs",
        "description": "The needs a family of a prisoner or ex-prisoner may have, as "
        "identified at referral and answered in casework.",
        "version": "1",
        **name_fields("Family Ties needs"),
    }
    terms = [
        {
            "_id": need_term_id(code),
            "code": code,
            "name": name,
            "description": f"Support with {name[0].lower() + name[1:]}.",
            "taxonomy_id": NEEDS_TAXONOMY_ID,
            "language": "en",
            **name_fields(name),
        }
        for code, name in vocabulary.NEEDS.items()
    ]
    return taxonomy, terms


def ensure_needs_taxonomy(directory: Directory) -> None:
    """Create or refresh the needs taxonomy; safe to run from every process at start."""
    directory.save_taxonomy(*needs_taxonomy())
