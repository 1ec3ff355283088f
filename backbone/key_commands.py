"""The `familyties` commands every holder of API keys shares (partners, staff, editors):
showing a new key once, and revoking one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from backbone.api_keys import KeyHolders


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
