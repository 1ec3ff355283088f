"""Intake's worker: relays ReferralReceived, PartnerChanged and the like from the outbox
to Kafka, and follows casework's events so that a partner sees what became of each
referral."""

from __future__ import annotations

from backbone import mongo
from backbone.consumer import dead_letter_topic
from backbone.events.catalogue import topic_of
from backbone.settings import Settings
from backbone.worker import WorkerPlan, consumer_task
from services.referral import GROUP, SERVICE
from services.referral.handlers import handlers
from services.referral.partners import Partners
from services.referral.repository import Referrals

READS = [topic_of("casework")]


def plan(settings: Settings) -> WorkerPlan:
    db = mongo.database(settings, SERVICE)
    referrals = Referrals(db)
    partners = Partners(db)

    def setup() -> None:
        referrals.ensure_indexes()
        partners.ensure_indexes()
        # Partners added before they were announced: announced once, as they are now.
        partners.announce_unannounced()

    return WorkerPlan(
        SERVICE,
        topics=[topic_of(SERVICE), *READS, dead_letter_topic(GROUP)],
        event_log=[referrals.collection.name, partners.collection.name],
        setup=setup,
        tasks={
            "case-events": consumer_task(settings, GROUP, READS, handlers(referrals), db),
        },
    )
