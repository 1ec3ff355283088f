"""Identifiers: UUIDv7 for events (time-ordered, so the outbox drains oldest first)."""

import os
import time
import uuid


def new_id() -> str:
    """A random UUIDv4 for aggregates such as referrals: reveals nothing, not even time."""
    return str(uuid.uuid4())


def new_event_id() -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits."""
    millis = time.time_ns() // 1_000_000
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))
