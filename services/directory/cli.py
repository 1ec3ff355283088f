"""`familyties directory ...`: editors and their keys, and HSDS import and export."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from backbone import mongo
from backbone.errors import Conflict, Invalid
from backbone.key_commands import add_revoke_command, key_state, show_new_key
from backbone.settings import Settings
from services.directory import SERVICE, transfer
from services.directory.editors import ROLES, Editors, operator
from services.directory.operations import DirectoryOperations
from services.directory.repository import Directory
from services.directory.taxonomy import ensure_needs_taxonomy


def _database():
    return mongo.database(Settings.from_env(), SERVICE)


def _editors() -> Editors:
    editors = Editors(_database())
    editors.ensure_indexes()
    return editors


@click.group()
def directory() -> None:
    """The agency directory: its editors, and HSDS import and export."""


@directory.group()
def editors() -> None:
    """People who keep the directory up to date."""


@editors.command("create")
@click.argument("name")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(list(ROLES)),
    help="editor: change the directory; safeguarding: see confidential addresses.",
)
def create_editor(name: str, roles: tuple[str, ...]) -> None:
    """Add an editor and print their API key: shown this once, stored only as a hash."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= 200:
        raise click.BadParameter("give the editor's name, up to 200 characters", param_hint="NAME")
    editor, api_key = _editors().create(name, roles=sorted(set(roles)))
    show_new_key(f"Editor {editor['name']} created with id {editor['_id']}.", api_key)


@editors.command("list")
def list_editors() -> None:
    """Every editor, with their roles, key's first characters and whether it is revoked."""
    for editor in _editors().all():
        state = key_state(editor)
        roles = ",".join(editor["roles"])
        hint = editor["api_key_hint"]
        click.echo(f"{editor['_id']}  {hint}…  {state:18}  {roles:20}  {editor['name']}")


add_revoke_command(editors, _editors, "editor")


@directory.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_file(path: Path) -> None:
    """Load fully nested HSDS services from a .json or .ndjson file. The whole file is
    checked first: if any record is bad, each fault is listed and nothing is loaded."""
    directory = Directory(_database())
    operations = DirectoryOperations(directory)
    directory.ensure_indexes()
    ensure_needs_taxonomy(directory)
    operations.derive_missing_fields()
    with click.progressbar(transfer.read_records(path), label="Checking records") as records:
        services, problems = transfer.check(records, directory)
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{path.name} has {len(problems)} problems; nothing loaded.")
    author = operator("import", f"familyties directory import {path.name}")
    bar = click.progressbar(length=len(services), label="Loading services")
    try:
        with bar:
            counts = transfer.load(operations, services, author, bar.update)
    except (Conflict, Invalid) as error:
        # Someone changed the directory while the file loaded: what is loaded is whole
        # services, and loading again finishes the job.
        raise click.ClickException(
            f"Stopped after {bar.pos} of {len(services)} services, as the directory "
            f"changed meanwhile ({type(error).__name__}). Run the import again to finish."
        ) from None
    click.echo(", ".join(f"{n} {what}" for what, n in counts.items()) + ".")


@directory.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--include-confidential",
    is_flag=True,
    help="Include the addresses of confidential locations. Keep such a file safe.",
)
def export_file(path: Path, include_confidential: bool) -> None:
    """Write every current service, fully nested, to a .json or .ndjson file (- for
    standard output, as ndjson)."""
    directory = Directory(_database())
    ndjson = path.suffix == ".ndjson" or str(path) == "-"
    if str(path) == "-":
        written = transfer.export(directory, sys.stdout, True, include_confidential)
    else:
        with path.open("w", encoding="utf-8") as out:
            written = transfer.export(directory, out, ndjson, include_confidential)
    click.echo(f"Exported {written} services.", err=True)
