"""Once a day, at DAILY_SUMMARY_HOUR (UK time): the managers' summary of referrals waiting
more than 5 working days for a first contact, and each staff member's digest of the
messages they chose to get once a day. A day's run is recorded first, so only one
process makes it, and its messages have ids of the day, so they are made once."""

from __future__ import annotations

import threading
from datetime import date, datetime

from pymongo.client_session import ClientSession
from pymongo.errors import DuplicateKeyError

from backbone import mongo
from backbone.clock import UK, now
from backbone.metrics import loop_done
from backbone.settings import Settings
from services.notifications import rules
from services.notifications.handlers import MessageMaker
from services.notifications.repository import DIGESTED, HELD, Store


def due(at: datetime, hour: int, last_run: date | None) -> date | None:
    """The UK date whose daily run is due at `at`, if any."""
    local = at.astimezone(UK)
    if local.hour < hour or last_run == local.date():
        return None
    return local.date()


class Daily:
    def __init__(self, store: Store, maker: MessageMaker, settings: Settings, links) -> None:
        self.store = store
        self.maker = maker
        self.settings = settings
        self.links = links

    def run(self, stop: threading.Event, check_seconds: float = 30.0) -> None:
        last: date | None = None
        while not stop.is_set():
            day = due(now(), self.settings.daily_summary_hour, last)
            if day is not None:
                self.run_for(day)
                last = day
            loop_done()
            stop.wait(check_seconds)

    def run_for(self, day: date) -> bool:
        """Make the day's summary and digests, unless some process already did: in one
        transaction with the day's record, so a crash part way leaves nothing made and
        the day still due, and a held message is in exactly one digest."""
        staff = self.store.all_staff()
        waiting = rules.waiting_for_first_contact(self.store.open_referrals_without_contact(), day)
        summary = rules.summary_messages(waiting, day, staff, self.links)

        def write(session: ClientSession) -> None:
            self.store.daily_runs.insert_one({"_id": day.isoformat(), "at": now()}, session=session)
            self.maker.record(f"summary:{day}", summary, session)
            for person in staff:
                self.digest(person, day, session)

        try:
            mongo.in_transaction(self.store.db, write)
        except DuplicateKeyError:
            return False
        return True

    def digest(self, person: dict, day: date, session: ClientSession) -> None:
        recipient = f"staff:{person['_id']}"
        held = list(
            self.store.messages.find({"recipient": recipient, "status": HELD}, session=session)
        )
        if not held or not person.get("email"):
            return
        items = [m["summary"] for m in sorted(held, key=lambda m: m["created_at"])]
        values = {
            "date": f"{day:%A} {day.day} {day:%B %Y}",
            "items": items,
            "preferences_link": self.links.preferences(),
        }
        intent = rules.Intent("daily_digest", "email", recipient, person["email"], values)
        self.maker.record(f"digest:{day}", [intent], session)
        self.store.messages.update_many(
            {"_id": {"$in": [m["_id"] for m in held]}, "status": HELD},
            {"$set": {"status": DIGESTED}},
            session=session,
        )
