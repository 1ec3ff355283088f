"""Directory editors and their API keys. Roles are checked on the server for every write.

- editor: adds, changes and withdraws organisations, services and locations;
- safeguarding: sees and changes the addresses of confidential locations (refuges).
"""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from backbone.api_keys import KeyHolders

KEY_PREFIX = "fte_"
ROLES = {
    "editor": "Adds, changes and withdraws organisations, services and locations.",
    "safeguarding": "Sees and changes the addresses of confidential locations.",
}


class Editors(KeyHolders):
    def __init__(self, db: Database) -> None:
        super().__init__(db["editors"], KEY_PREFIX)


def author(editor: dict[str, Any]) -> dict[str, Any]:
    """Who makes a change: recorded by id and name; their roles decide what they may do."""
    return {"id": editor["_id"], "name": editor["name"], "roles": list(editor.get("roles", []))}


def operator(tool_id: str, name: str) -> dict[str, Any]:
    """An operator's own tool (the seed, an import from a file) acts with every role: it
    may load refuges, as its operator may."""
    return {"id": tool_id, "name": name, "roles": list(ROLES)}
