"""Identifiers: UUIDv7 for events (time-ordered, so the event log sorts by time)."""

import os
import time
import uuid
from datetime import UTC, datetime


def new_id() -> str:
    """A random UUIDv4 for aggregates such as referrals: reveals nothing, not even time."""
    return str(uuid.uuid4())


def new_event_id() -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits."""
    millis = time.time_ns() // 1_000_000
    return _uuid7(millis, int.from_bytes(os.urandom(10), "big"))


def event_id_floor(moment: datetime) -> str:
    """The least event id of `moment`'s millisecond: every event made then or later has an
    id that sorts (as a string) at or after it."""
    return _uuid7(int(moment.timestamp() * 1000), 0)


def event_time(event_id: str) -> datetime:
    """When an event was made, read from its id."""
    return datetime.fromtimestamp((uuid.UUID(event_id).int >> 80) / 1000, UTC)


def _uuid7(millis: int, random_bits: int) -> str:
    value = (millis << 80) | (random_bits & ((1 << 80) - 1))
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))
