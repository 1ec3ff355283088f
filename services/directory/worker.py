"""The directory worker: loads the seed directory on first start, and relays
ServicePublished, ServiceUpdated and ServiceWithdrawn from the outbox to Kafka."""

from __future__ import annotations

import logging

import pymongo

from backbone import mongo
from backbone.events.catalogue import topic_of
from backbone.settings import Settings
from backbone.worker import WorkerPlan
from services.directory import SERVICE, transfer
from services.directory.editors import operator
from services.directory.operations import DirectoryOperations
from services.directory.repository import Directory
from services.directory.seed import seed_services
from services.directory.taxonomy import ensure_needs_taxonomy

log = logging.getLogger(__name__)
SEED_AUTHOR = operator("seed", "Family Ties seed directory")


def plan(settings: Settings) -> WorkerPlan:
    def directory() -> Directory:
        return Directory(mongo.database(settings, SERVICE))

    return WorkerPlan(
        SERVICE,
        topics=[topic_of(SERVICE)],
        event_log=["services"],
        setup=lambda: load_seed_if_empty(directory()),
    )


def load_seed_if_empty(directory: Directory) -> int:
    """On an installation's first start, load the seed directory; answer how many
    services were loaded. A directory that has services of its own is left alone; a seed
    load that was cut short is finished on the next start (loading is idempotent)."""
    with pymongo.timeout(60):
        directory.ensure_indexes()
        ensure_needs_taxonomy(directory)
        marker = directory.db["bookkeeping"].find_one({"_id": "seed"}) or {}
        if marker.get("state") == "loaded" or (
            not marker and directory.services.estimated_document_count()
        ):
            return 0
        directory.db["bookkeeping"].replace_one(
            {"_id": "seed"}, {"_id": "seed", "state": "loading"}, upsert=True
        )
    services, problems = transfer.check((("seed", record) for record in seed_services()), directory)
    if problems:  # a fault in the code, not in anyone's data
        raise ValueError(f"the seed directory is invalid: {problems[0]}")
    counts = transfer.load(DirectoryOperations(directory), services, SEED_AUTHOR)
    directory.db["bookkeeping"].replace_one({"_id": "seed"}, {"_id": "seed", "state": "loaded"})
    log.info("seed directory loaded", extra={"services": counts})
    return counts["created"]
