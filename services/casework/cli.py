"""`familyties casework staff ...`: coordinators' and managers' accounts."""

from __future__ import annotations

import re

import click

from backbone import mongo
from backbone.accounts import MIN_PASSWORD_LENGTH
from backbone.key_commands import add_revoke_command, key_state, show_new_key
from backbone.settings import Settings
from services.casework import SERVICE
from services.casework.staff import ROLES, Staff

USERNAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,63}\Z")


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


def _password(_ctx, _param, value: str) -> str:
    if len(value) < MIN_PASSWORD_LENGTH:
        raise click.BadParameter(f"use at least {MIN_PASSWORD_LENGTH} characters")
    return value


@staff.command("create")
@click.argument("username")
@click.option("--name", required=True, help="How colleagues and the case timeline name them.")
@click.option("--role", required=True, type=click.Choice(list(ROLES)))
@click.password_option(callback=_password, help="Asked for when not given.")
def create(username: str, name: str, role: str, password: str) -> None:
    """Add a staff account, and print its API key (for integrations) once."""
    username = username.lower()
    if not USERNAME.match(username):
        raise click.BadParameter("2 to 64 letters, digits, dots or dashes", param_hint="USERNAME")
    name = " ".join(name.split())
    if not 1 <= len(name) <= 200:
        raise click.BadParameter("give their name, up to 200 characters", param_hint="--name")
    account, api_key = _staff().create_account(username, name, role, password)
    show_new_key(
        f"{role.capitalize()} {account['name']} created with id {account['_id']}.", api_key
    )


@staff.command("list")
def list_staff() -> None:
    """Every account, with its role and whether it is revoked."""
    for account in _staff().all():
        state = key_state(account)
        click.echo(
            f"{account['_id']}  {account['username']:20}  {account['roles'][0]:12}  "
            f"{state:18}  {account['name']}"
        )


add_revoke_command(staff, _staff, "account")
