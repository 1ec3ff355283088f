"""The baseline: a bare Flask endpoint that does one insert_one of the document intake
would store for the same referral, into the same database server and a collection with
the same indexes as intake's. No key, no validation, no duplicate check, no event."""

from __future__ import annotations

import copy
import uuid

from flask import Flask, jsonify

from backbone import mongo
from backbone.settings import Settings
from bench.sample import stored_document
from services.referral.repository import Referrals


def create_app() -> Flask:
    settings = Settings.from_env()
    referrals = Referrals(mongo.database(settings, "baseline"))
    referrals.ensure_indexes()
    collection = referrals.collection
    template = stored_document()
    app = Flask("baseline")

    @app.post("/v1/referrals")
    def create():
        document = copy.deepcopy(template)
        document["_id"] = str(uuid.uuid4())
        collection.insert_one(document)
        return jsonify(id=document["_id"], status="received"), 201

    return app
