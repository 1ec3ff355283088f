"""Liveness (/healthz) and readiness (/readyz) checks."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

import pymongo
from pymongo.database import Database
from pymongo.errors import PyMongoError

from backbone.settings import Settings


@dataclass(frozen=True)
class Check:
    name: str
    probe: Callable[[], None]  # raises when the dependency is not usable
    # A web process that writes through the outbox needs only its database: it keeps
    # answering while the broker is away. The broker's state is still reported.
    required: bool = True


# Both probes together answer within a second, so /readyz is quick when either is away.
DATABASE_TIMEOUT_SECONDS = 0.3
BROKER_TIMEOUT_SECONDS = 0.4


def database_check(db: Database) -> Check:
    def probe() -> None:
        with pymongo.timeout(DATABASE_TIMEOUT_SECONDS):
            db.command("ping")

    return Check("database", probe)


def broker_check(
    settings: Settings, required: bool = False, timeout: float = BROKER_TIMEOUT_SECONDS
) -> Check:
    """Asks the broker for its API versions: a live broker answers, a hung one does not."""

    def probe() -> None:
        # ApiVersions v0 request: size, api_key=18, version=0, correlation id, client id.
        client_id = b"familyties-readyz"
        body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id
        with socket.create_connection(settings.kafka_host_port, timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = sock.recv(8)
        if len(header) < 8 or struct.unpack(">ii", header)[1] != 1:
            raise ConnectionError("the broker did not answer ApiVersions")

    return Check("broker", probe, required)


def readiness(checks: list[Check]) -> tuple[dict, int]:
    results = {}
    for check in checks:
        try:
            check.probe()
            results[check.name] = "ok"
        except (OSError, PyMongoError) as error:
            results[check.name] = f"unavailable: {type(error).__name__}"
    ready = all(results[c.name] == "ok" for c in checks if c.required)
    degraded = any(value != "ok" for value in results.values())
    status = "ready" if ready and not degraded else "degraded" if ready else "not ready"
    return {"status": status, "checks": results}, 200 if ready else 503
