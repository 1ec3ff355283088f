"""`familyties casework staff ...`: coordinators' and managers' accounts."""

from __future__ import annotations

import click

from backbone import logs, mongo
from backbone.key_commands import add_account_commands, email_address
from backbone.settings import Settings
from services.casework import SERVICE
from services.casework.staff import ROLES, Staff


def _staff() -> Staff:
    # No command seals or opens a secret: none needs the data key.
    staff = Staff(mongo.database(Settings.from_env(), SERVICE), sealer=None)
    staff.ensure_indexes()
    return staff


@click.group()
def casework() -> None:
    """Casework: its staff accounts."""


@casework.group()
def staff() -> None:
    """Coordinators and managers."""


add_account_commands(staff, _staff, ROLES, with_email=True)


@staff.command("set-email")
@click.argument("username")
@click.argument("address", callback=email_address)
def set_email(username: str, address: str) -> None:
    """Set or change someone's work email address, where they are told of their cases."""
    account = _staff().set_email(username.lower(), address)
    if account is None:
        raise click.ClickException(f"No active account has the username {username}.")
    click.echo(f"{account['name']} ({account['username']}) now has the email address {address}.")


@staff.command("reset-second-factor")
@click.argument("username")
def reset_second_factor(username: str) -> None:
    """Forget someone's authenticator app and recovery codes (a lost phone) and sign them
    out everywhere: they set up a new app when they next sign in."""
    logs.configure(SERVICE, Settings.from_env().log_level)  # the reset is logged, by id only
    if _staff().reset_second_factor(username.lower()) is None:
        raise click.ClickException(f"No active account has the username {username}.")
    click.echo(
        f"{username.lower()} is signed out everywhere, and sets up a new authenticator app "
        "when they next sign in."
    )
