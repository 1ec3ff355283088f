"""`familyties partners ...`: partner organisations and their API keys."""

from __future__ import annotations

import click

from backbone import mongo
from backbone.key_commands import add_revoke_command, key_state, show_new_key
from backbone.settings import Settings
from services.referral import SERVICE
from services.referral.partners import Partners


def _partners() -> Partners:
    partners = Partners(mongo.database(Settings.from_env(), SERVICE))
    partners.ensure_indexes()
    return partners


@click.group()
def partners() -> None:
    """Partner organisations that post referrals."""


def _organisation_name(_ctx, _param, value: str) -> str:
    name = " ".join(value.split())
    if not 1 <= len(name) <= 200:
        raise click.BadParameter("give the organisation's name, up to 200 characters")
    return name


@partners.command("create")
@click.argument("name", callback=_organisation_name)
def create(name: str) -> None:
    """Add a partner and print its API key: shown this once, stored only as a hash."""
    partner, api_key = _partners().create(name)
    show_new_key(f"Partner {partner['name']} created with id {partner['_id']}.", api_key)


@partners.command("list")
def list_partners() -> None:
    """Every partner, with its key's first characters and whether it is revoked."""
    for partner in _partners().all():
        state = key_state(partner)
        click.echo(f"{partner['_id']}  {partner['api_key_hint']}…  {state:18}  {partner['name']}")


add_revoke_command(partners, _partners, "partner")
