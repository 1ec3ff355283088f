"""A consumer that stops mid-transaction at the event about "stall", to be killed there.

python -m tests.integration.stalling_consumer GROUP TOPIC FLAG_FILE
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from backbone import mongo
from backbone.consumer import ConsumerRunner
from backbone.settings import Settings


def main() -> None:
    group, topic, flag = sys.argv[1:4]
    settings = Settings.from_env()
    db = mongo.database(settings, "consumertest")

    def handler(event, session) -> None:
        db["view"].update_one(
            {"_id": event.subject}, {"$inc": {"applied": 1}}, upsert=True, session=session
        )
        if event.subject == "stall":
            Path(flag).touch()
            time.sleep(3600)

    ConsumerRunner(group, [topic], {"ReferralReceived": handler}, db, settings).run(
        threading.Event()
    )


if __name__ == "__main__":
    main()
