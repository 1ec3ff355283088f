"""The casework worker: opens a case for each referral, keeps its view of the directory,
and relays its own events (CaseOpened, CaseAllocated, ..., StaffChanged) from the outbox
to Kafka."""

from __future__ import annotations

from backbone import mongo
from backbone.consumer import dead_letter_topic
from backbone.events.catalogue import topic_of
from backbone.settings import Settings
from backbone.worker import WorkerPlan, consumer_task
from services.casework import GROUP, SERVICE
from services.casework.handlers import handlers
from services.casework.repository import Cases
from services.casework.staff import Staff

READS = [topic_of("referral"), topic_of("directory")]


def plan(settings: Settings) -> WorkerPlan:
    db = mongo.database(settings, SERVICE)
    cases = Cases(db)
    staff = Staff(db, sealer=None)  # it reads no authenticator app's secret

    def setup() -> None:
        cases.ensure_indexes()  # the unique referral index keeps one case per referral
        staff.ensure_indexes()
        # Accounts made before staff were announced: announced once, as they are now.
        staff.announce_unannounced()

    return WorkerPlan(
        SERVICE,
        topics=[topic_of(SERVICE), *READS, dead_letter_topic(GROUP)],
        tasks={
            "consumer": consumer_task(settings, GROUP, READS, handlers(cases), db),
        },
        event_log=[cases.cases.name, staff.collection.name],
        setup=setup,
    )
