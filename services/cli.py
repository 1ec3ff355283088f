"""The `familyties` command."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import click

from backbone import logs
from backbone.asyncapi import asyncapi_document
from backbone.settings import Settings
from backbone.worker import run
from services import NAMES, stack
from services.casework.cli import casework
from services.directory.cli import directory
from services.referral.cli import partners

ASYNCAPI_PATH = Path(__file__).resolve().parent.parent / "docs" / "asyncapi.json"


@click.group()
def main() -> None:
    """Family Ties: referrals and casework for families of prisoners."""


main.add_command(partners)
main.add_command(directory)
main.add_command(casework)


@main.command()
@click.argument("service", type=click.Choice(NAMES))
def worker(service: str) -> None:
    """Run a service's worker process: its outbox relay and consumers."""
    settings = Settings.from_env()
    logs.configure(service, settings.log_level)
    plan = importlib.import_module(f"services.{service}.worker").plan(settings)
    run(plan, settings)


@main.command("run")
def run_stack() -> None:
    """Start everything locally: broker, database, every web and worker process."""
    stack.start(Settings.from_env())


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
