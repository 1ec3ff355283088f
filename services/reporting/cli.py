"""`familyties reporting ...`: viewers' accounts, and rebuilding the view by replay."""

from __future__ import annotations

import click

from backbone import mongo
from backbone.key_commands import add_account_commands
from backbone.settings import Settings
from services.reporting import SERVICE
from services.reporting.viewers import ROLES, Viewers


def _viewers() -> Viewers:
    viewers = Viewers(mongo.database(Settings.from_env(), SERVICE))
    viewers.ensure_indexes()
    return viewers


@click.group()
def reporting() -> None:
    """Reporting: who may read the reports, and rebuilding its view."""


@reporting.group()
def viewers() -> None:
    """Managers and funders, who read the reports."""


add_account_commands(viewers, _viewers, ROLES)


@reporting.command()
@click.option(
    "--republish",
    is_flag=True,
    help="If a service's events are missing from the broker (a broker that lost its log), "
    "ask that service to publish its event log again, and wait for it.",
)
@click.option("--wait", default=600, show_default=True, help="Seconds to wait for a republish.")
def rebuild(republish: bool, wait: int) -> None:
    """Build the view again from the beginning of every topic it reads, beside the one in
    use, and switch the reports over to it once it is complete."""
    from services.reporting.rebuild import Rebuild  # its Kafka client, only when needed

    settings = Settings.from_env()
    job = Rebuild(settings, mongo.database(settings, SERVICE))
    missing = job.run(republish=republish, wait_seconds=wait)
    replay = job.replay
    click.echo(f"Read {replay.applied} events for the view ({replay.unreadable} unreadable).")
    if missing:
        for shortfall in missing:
            click.echo(f"Incomplete: {shortfall}.", err=True)
        raise click.ClickException(
            "The rebuilt view would be partial, so the reports still use the old one. Run "
            "`familyties events republish SERVICE` for each service above (or rebuild with "
            "--republish) and rebuild again."
        )
    click.echo("Every event each service says it published was read: reports now use the new view.")
