"""`familyties casework staff ...`: coordinators' and managers' accounts."""

from __future__ import annotations

import click

from backbone import mongo
from backbone.key_commands import add_account_commands
from backbone.settings import Settings
from services.casework import SERVICE
from services.casework.staff import ROLES, Staff


def _staff() -> Staff:
    staff = Staff(mongo.database(Settings.from_env(), SERVICE))
    staff.ensure_indexes()
    return staff


@click.group()
def casework() -> None:
    """Casework: its staff accounts."""


@casework.group()
def staff() -> None:
    """Coordinators and managers."""


add_account_commands(staff, _staff, ROLES)
