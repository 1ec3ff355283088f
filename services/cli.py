"""The `familyties` command."""

from __future__ import annotations

import importlib
import json
from datetime import datetime
from pathlib import Path

import click

from backbone import logs, mongo, outbox
from backbone.asyncapi import asyncapi_document
from backbone.clock import UK
from backbone.ids import event_id_floor
from backbone.relay import request_republish
from backbone.settings import Settings
from backbone.worker import WorkerPlan, event_log, run
from services import NAMES, stack
from services.casework.cli import casework
from services.deploy import deploy
from services.directory.cli import directory
from services.referral.cli import partners
from services.reporting.cli import reporting

ASYNCAPI_PATH = Path(__file__).resolve().parent.parent / "docs" / "asyncapi.json"


@click.group()
def main() -> None:
    """Family Ties: referrals and casework for families of prisoners."""


main.add_command(partners)
main.add_command(directory)
main.add_command(casework)
main.add_command(reporting)
main.add_command(deploy)


@main.command()
@click.argument("service", type=click.Choice(NAMES))
def worker(service: str) -> None:
    """Run a service's worker process: its outbox relay and consumers."""
    settings = Settings.from_env()
    logs.configure(service, settings.log_level)
    run(worker_plan(service, settings), settings)


def worker_plan(service: str, settings: Settings) -> WorkerPlan:
    return importlib.import_module(f"services.{service}.worker").plan(settings)


@main.group()
def events() -> None:
    """The log each service keeps of every event it published."""


@events.command()
@click.argument("service", type=click.Choice(NAMES))
@click.option(
    "--since",
    metavar="TIME",
    help="Only events made at or after TIME (ISO 8601, e.g. 2026-11-23T09:00; UK time "
    "unless it names its zone). Without it, every event the service ever published.",
)
def republish(service: str, since: str | None) -> None:
    """Publish a service's logged events again, in order (consumers skip what they have
    already processed): for a broker that lost its log, or a view to be rebuilt."""
    settings = Settings.from_env()
    moment = _instant(since) if since else None
    since_id = event_id_floor(moment) if moment else ""
    collections = event_log(settings, worker_plan(service, settings))
    if not collections:
        raise click.ClickException(f"{service} publishes no events")
    count = sum(outbox.count_logged(collection, since_id) for collection in collections)
    request_republish(mongo.database(settings, service), since_id, "asked for by an operator")
    click.echo(
        f"{count} events of {service} will be published again, in order, by its worker "
        f"(within {settings.broker_check_seconds:g} s if it is running)."
    )


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            "use ISO 8601, e.g. 2026-11-23T09:00", param_hint="--since"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UK)


@main.command("run")
def run_stack() -> None:
    """Start everything locally: broker, database, every web and worker process."""
    stack.start(Settings.from_env())


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
def processes(arguments: tuple[str, ...]) -> None:
    """See and control the processes `make run` started: status (the default),
    restart NAME, stop NAME, start NAME (e.g. `restart workers:casework-worker`)."""
    try:
        stack.control(Settings.from_env(), list(arguments) or ["status"])
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from None


@main.command()
@click.option("--check", is_flag=True, help="Fail if docs/asyncapi.json is out of date.")
def asyncapi(check: bool) -> None:
    """Write the event catalogue's AsyncAPI document to docs/asyncapi.json."""
    text = json.dumps(asyncapi_document(), indent=2, sort_keys=True) + "\n"
    if check:
        if not ASYNCAPI_PATH.exists() or ASYNCAPI_PATH.read_text() != text:
            raise click.ClickException(
                "docs/asyncapi.json is out of date: run `familyties asyncapi`"
            )
        return
    ASYNCAPI_PATH.write_text(text)
    click.echo(f"Wrote {ASYNCAPI_PATH}")


if __name__ == "__main__":
    main()
