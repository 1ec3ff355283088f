"""`familyties partners ...`: partner organisations, their API keys, and inviting their
users to intake's web pages."""

from __future__ import annotations

import click

from backbone import mongo
from backbone.key_commands import add_revoke_command, key_state, show_new_key
from backbone.settings import Settings
from services.referral import SERVICE
from services.referral.invitations import (
    EMAIL_TAKEN,
    EmailTaken,
    Invitations,
    expiry_text,
    invitation_errors,
    invitation_link,
    tidy_name,
)
from services.referral.partner_users import ROLES, PartnerUsers
from services.referral.partners import Partners


def _partners() -> Partners:
    partners = Partners(mongo.database(Settings.from_env(), SERVICE))
    partners.ensure_indexes()
    return partners


def _invitations(partners: Partners) -> Invitations:
    # Inviting seals and opens no secret: the command needs no data key.
    users = PartnerUsers(partners.collection.database, partners, sealer=None)
    invitations = Invitations(partners.collection.database, users)
    mongo.ensure_indexes(users, invitations)
    return invitations


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


@partners.command("invite")
@click.argument("partner_id")
@click.argument("email")
@click.argument("name")
@click.option("--role", type=click.Choice(sorted(ROLES)), default="admin", show_default=True)
def invite(partner_id: str, email: str, name: str, role: str) -> None:
    """Invite someone to be a user of a partner, and print their one-time link (it works
    once, for 72 hours): how a new partner's first administrator gets in. Pass the link
    on by a way only they read."""
    answers = {"email": email.strip(), "name": tidy_name(name), "role": role}
    errors = invitation_errors(**answers)
    if errors:
        raise click.BadParameter("; ".join(errors.values()))
    partners = _partners()
    partner = partners.current(partner_id)
    if partner is None:
        raise click.BadParameter(f"no current partner has the id {partner_id}")
    try:
        invitation, token = _invitations(partners).invite(partner, **answers, invited_by=None)
    except EmailTaken as taken:
        raise click.BadParameter(EMAIL_TAKEN) from taken
    link = invitation_link(Settings.from_env().public_url(SERVICE), token)
    click.echo(
        f"Invited {invitation['name']} ({role}) to {partner['name']}. "
        f"The link works once, until {expiry_text(invitation['expires_at'])} (UK time):"
    )
    click.echo(link)


@partners.command("require-second-factor")
@click.argument("partner_id")
@click.option("--off", is_flag=True, help="Let each user choose again.")
def require_second_factor(partner_id: str, off: bool) -> None:
    """Require the partner's users to sign in with an authenticator app (those without one
    set it up before any other page), or with --off, let each choose."""
    if not _partners().require_second_factor(partner_id, not off):
        raise click.BadParameter(f"no current partner has the id {partner_id}")
    click.echo(
        f"Partner {partner_id}: "
        + ("each user chooses." if off else "everyone must use an authenticator app.")
    )


add_revoke_command(partners, _partners, "partner")
