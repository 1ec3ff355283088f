"""Intake's worker: relays ReferralReceived and the like from the outbox to Kafka."""

from __future__ import annotations

from backbone import mongo
from backbone.events.catalogue import topic_of
from backbone.settings import Settings
from backbone.worker import WorkerPlan, relay_task
from services.referral import SERVICE
from services.referral.repository import Referrals


def plan(settings: Settings) -> WorkerPlan:
    def collections():
        return [Referrals(mongo.database(settings, SERVICE)).collection]

    return WorkerPlan(
        SERVICE,
        topics=[topic_of(SERVICE)],
        tasks={"outbox-relay": relay_task(settings, collections)},
    )
