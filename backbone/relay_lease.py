"""One relay of a service publishes at a time: the one holding the lease, a document in
the relay's state collection that names its holder and when its hold ends.

With several workers of a service (docker-compose runs two), every relay would otherwise
publish each pending event and heal the broker at once: consumers skip the copies, but
the broker and every consumer do the work twice. The holder renews its hold while it
runs and gives it up when it stops; a holder killed outright is replaced once its hold
ends. The lease is not a fence: a holder paused past its hold may still finish a batch
that its successor also publishes, and consumers skip those copies as before.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from datetime import timedelta

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError

from backbone.clock import now

LEASE = "lease"


class RelayLease:
    def __init__(self, state: Collection, seconds: float) -> None:
        self.state = state
        self.seconds = seconds
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._renew_after = 0.0  # monotonic: a hold is renewed once half of it has passed

    def hold(self) -> bool:
        """Whether this relay holds the lease (taking or renewing it as needed): it may
        publish. A lease held by another relay is taken only once its hold has ended."""
        asked = time.monotonic()  # before the write: the hold runs from `at`, not after
        if asked < self._renew_after:
            return True
        at = now()
        try:
            self.state.update_one(
                {"_id": LEASE, "$or": [{"holder": self.holder}, {"until": {"$lt": at}}]},
                {"$set": {"holder": self.holder, "until": at + timedelta(seconds=self.seconds)}},
                upsert=True,
            )
        except DuplicateKeyError:  # the lease exists, held by another relay
            self._renew_after = 0.0
            return False
        self._renew_after = asked + self.seconds / 2
        return True

    def release(self) -> None:
        """Give the lease up (a relay stopping), so another relay takes over at once."""
        self._renew_after = 0.0
        with contextlib.suppress(PyMongoError):  # the database is away: the hold just ends
            self.state.delete_one({"_id": LEASE, "holder": self.holder})

    def holder_now(self) -> str | None:
        """Who holds the lease now, if anyone does."""
        found = self.state.find_one({"_id": LEASE, "until": {"$gte": now()}})
        return found["holder"] if found else None
