"""The directory web process: `gunicorn "services.directory.app:create_app()"`."""

from __future__ import annotations

from flask import Flask

from backbone import mongo
from backbone.settings import Settings
from backbone.web import create_service_app, register_api, start
from services.directory import SERVICE
from services.directory.api import blp
from services.directory.editors import Editors
from services.directory.operations import DirectoryOperations
from services.directory.repository import Directory
from services.directory.taxonomy import ensure_needs_taxonomy


def create_app(settings: Settings | None = None) -> Flask:
    settings, db = start(SERVICE, settings)
    directory = Directory(db)
    operations = DirectoryOperations(directory)
    editors = Editors(db)
    mongo.ensure_indexes(directory, editors)
    ensure_needs_taxonomy(directory)
    operations.derive_missing_fields()

    app, api = create_service_app(
        SERVICE,
        "Family Ties directory (Open Referral HSDS 3.0)",
        db,
        settings,
        [directory.services],
        ("editorKey", "Directory editor key"),
    )
    app.extensions["directory"] = directory
    app.extensions["operations"] = operations
    app.extensions["editors"] = editors
    register_api(app, api, blp, editors, "directory editor", open_reads=True)
    return app
