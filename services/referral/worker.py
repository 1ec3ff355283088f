"""Intake's worker: relays ReferralReceived and the like from the outbox to Kafka, and
follows casework's events so that a partner sees what became of each referral."""

from __future__ import annotations

from pymongo.client_session import ClientSession

from backbone import mongo
from backbone.consumer import dead_letter_topic
from backbone.events.catalogue import topic_of
from backbone.events.envelope import Event
from backbone.settings import Settings
from backbone.worker import WorkerPlan, consumer_task
from services.referral import SERVICE, domain
from services.referral.repository import Referrals

GROUP = "referral"
CASE_EVENTS = ["CaseOpened", "CaseAllocated", "CaseDeclined", "CaseClosed", "CaseReopened"]


def plan(settings: Settings) -> WorkerPlan:
    db = mongo.database(settings, SERVICE)
    referrals = Referrals(db)

    def follow_case(event: Event, session: ClientSession) -> None:
        change = domain.referrer_view(event.type, event.data)
        if change is not None:
            referrals.follow_case(event.data["referral_id"], change, session)

    return WorkerPlan(
        SERVICE,
        topics=[topic_of(SERVICE), topic_of("casework"), dead_letter_topic(GROUP)],
        event_log=[referrals.collection.name],
        tasks={
            "case-events": consumer_task(
                settings, GROUP, [topic_of("casework")], dict.fromkeys(CASE_EVENTS, follow_case), db
            ),
        },
    )
