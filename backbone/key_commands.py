"""The `familyties` commands every holder of API keys shares (partners, staff, editors,
report viewers): showing a new key once, and revoking one; and for accounts that sign in
to pages, creating and listing them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import click
from marshmallow import ValidationError, validate

from backbone.accounts import MIN_PASSWORD_LENGTH, Accounts
from backbone.api_keys import KeyHolders

USERNAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,63}\Z")
MAX_EMAIL_LENGTH = 254  # the most a path in SMTP may carry (RFC 5321)
_EMAIL = validate.Email()


def email_address(_ctx, _param, value: str | None) -> str | None:
    """A click callback: a work email address, as events and messages will carry it."""
    if value is None:
        return None
    address = value.strip()
    try:
        if len(address) > MAX_EMAIL_LENGTH:
            raise ValidationError("too long")
        _EMAIL(address)
    except ValidationError:
        raise click.BadParameter(
            f"give an email address such as casey.coordinator@example.org "
            f"(up to {MAX_EMAIL_LENGTH} characters)"
        ) from None
    return address


def show_new_key(created: str, api_key: str) -> None:
    """Say what was created, then the key: the only time it is ever shown."""
    click.echo(created)
    click.echo("The API key, shown only now (send it as 'Authorization: Bearer <key>'):")
    click.echo(api_key)


def key_state(holder: dict[str, Any]) -> str:
    revoked = holder["revoked_at"]
    return f"revoked {revoked:%Y-%m-%d}" if revoked else "active"


def add_revoke_command(group: click.Group, holders: Callable[[], KeyHolders], what: str) -> None:
    """`<group> revoke ID`: the holder's key (and password, if any) is refused from the next
    request on, by every process."""

    @group.command("revoke")
    @click.argument("holder_id")
    def revoke(holder_id: str) -> None:
        """Revoke a key: refused from the next request on, by every process."""
        if not holders().revoke(holder_id):
            raise click.ClickException(f"No active {what} has the id {holder_id}.")
        click.echo(f"Revoked {what} {holder_id}: refused from the next request on.")


def add_account_commands(
    group: click.Group,
    accounts: Callable[[], Accounts],
    roles: dict[str, str],
    with_email: bool = False,
) -> None:
    """`<group> create USERNAME --name --role`, `<group> list` and `<group> revoke ID` for
    people who sign in to a service's pages with one of `roles`; `with_email`, for those
    who may be sent messages, adds `create --email`."""

    def password(_ctx, _param, value: str) -> str:
        if len(value) < MIN_PASSWORD_LENGTH:
            raise click.BadParameter(f"use at least {MIN_PASSWORD_LENGTH} characters")
        return value

    def email_option(command: Callable) -> Callable:
        if not with_email:
            return command
        return click.option(
            "--email",
            callback=email_address,
            help="Their work email address, where they are told of their cases.",
        )(command)

    @group.command("create")
    @click.argument("username")
    @click.option("--name", required=True, help="How colleagues and the pages name them.")
    @click.option("--role", required=True, type=click.Choice(list(roles)))
    @email_option
    @click.password_option(callback=password, help="Asked for when not given.")
    @click.option(
        "--api-key",
        "with_key",
        is_flag=True,
        help="Also print an API key, for a system of theirs: it reaches the API with no "
        "second factor, so give one only where a system needs it.",
    )
    def create(
        username: str,
        name: str,
        role: str,
        password: str,
        with_key: bool = False,
        email: str | None = None,
    ) -> None:
        """Add an account (and, with --api-key, print its API key once)."""
        username = username.lower()
        if not USERNAME.match(username):
            raise click.BadParameter(
                "2 to 64 letters, digits, dots or dashes", param_hint="USERNAME"
            )
        name = " ".join(name.split())
        if not 1 <= len(name) <= 200:
            raise click.BadParameter("give their name, up to 200 characters", param_hint="--name")
        fields = {"email": email} if email is not None else {}
        account, api_key = accounts().create_account(username, name, role, password, **fields)
        created = f"{role.capitalize()} {account['name']} created with id {account['_id']}."
        if with_key:
            show_new_key(created, api_key)
        else:  # the key made is never shown, so nobody can use it
            click.echo(created)

    @group.command("list")
    def list_accounts() -> None:
        """Every account, with its role and whether it is revoked."""
        for account in accounts().all():
            click.echo(
                f"{account['_id']}  {account['username']:20}  {account['roles'][0]:12}  "
                f"{key_state(account):18}  {account['name']}"
            )

    add_revoke_command(group, accounts, "account")
