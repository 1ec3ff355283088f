"""Partner organisations and their API keys."""

from __future__ import annotations

from pymongo.database import Database

from backbone.api_keys import KeyHolders

KEY_PREFIX = "ftk_"


class Partners(KeyHolders):
    def __init__(self, db: Database) -> None:
        super().__init__(db["partners"], KEY_PREFIX)
