"""Who may read reports: managers and funders, with accounts of reporting's own (a
service owns its data; casework's staff accounts stay in casework). They sign in to the
pages with a password, or use an API key, through backbone.accounts."""

from __future__ import annotations

from pymongo.database import Database

from backbone.accounts import Accounts

KEY_PREFIX = "ftr_"
ROLES = {
    "manager": "Reads every report, and coordinators' caseloads.",
    "funder": "Reads the reports and their exports.",
}


class Viewers(Accounts):
    def __init__(self, db: Database) -> None:
        super().__init__(db, "viewers", KEY_PREFIX)
