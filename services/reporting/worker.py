"""The reporting worker: keeps the view up to date from every other service's events."""

from __future__ import annotations

from backbone import mongo
from backbone.consumer import dead_letter_topic
from backbone.events.catalogue import topic_of
from backbone.settings import Settings
from backbone.worker import WorkerPlan, consumer_task
from services.reporting import GROUP, SERVICE
from services.reporting.handlers import handlers
from services.reporting.repository import ReportingView

READS = [topic_of("referral"), topic_of("casework"), topic_of("directory")]


def plan(settings: Settings) -> WorkerPlan:
    db = mongo.database(settings, SERVICE)
    view = ReportingView(db)
    return WorkerPlan(
        SERVICE,
        topics=[*READS, dead_letter_topic(GROUP)],
        tasks={"consumer": consumer_task(settings, GROUP, READS, handlers(view), db)},
        setup=view.ensure_indexes,
    )
