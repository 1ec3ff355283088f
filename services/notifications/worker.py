"""The notifications worker: records the messages other services' events make, sends
them (several sending threads), makes the daily summary and digests, and publishes
NotificationSent/NotificationFailed from the messages' event log."""

from __future__ import annotations

from datetime import timedelta

from backbone import mongo
from backbone.consumer import dead_letter_topic
from backbone.events.catalogue import topic_of
from backbone.settings import Settings
from backbone.worker import WorkerPlan, consumer_task
from services.notifications import GROUP, SERVICE, templates
from services.notifications.daily import Daily
from services.notifications.delivery import Sender
from services.notifications.handlers import MessageMaker, handlers
from services.notifications.repository import Store
from services.notifications.rules import Links

READS = [topic_of("referral"), topic_of("casework")]


def links(settings: Settings) -> Links:
    return Links(
        settings.public_url("referral"),
        settings.public_url("casework"),
        settings.public_url("notifications"),
    )


def plan(settings: Settings) -> WorkerPlan:
    checked = templates.check_all()  # a bad template stops the worker here, not at send time
    db = mongo.database(settings, SERVICE)
    store = Store(db)
    maker = MessageMaker(store, checked, timedelta(seconds=settings.notification_retry_seconds))
    sender = Sender(store, maker, settings)
    tasks = {
        "consumer": consumer_task(
            settings, GROUP, READS, handlers(store, maker, links(settings)), db
        ),
        "daily": Daily(store, maker, settings, links(settings)).run,
    }
    for number in range(1, settings.notification_sending_threads + 1):
        tasks[f"sender-{number}"] = sender.run
    return WorkerPlan(
        SERVICE,
        topics=[topic_of(SERVICE), *READS, dead_letter_topic(GROUP)],
        tasks=tasks,
        setup=store.ensure_indexes,
        event_log=[store.messages.name],
    )
