"""JSON logs, one object a line, each carrying the request or event id it belongs to, and
the id of its trace (backbone.tracing), which follows one referral across the services.

Personal data never goes into a log line: log ids, codes and counts, never names,
contact details, notes or request bodies.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from backbone import tracing

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
event_id: ContextVar[str | None] = ContextVar("event_id", default=None)


@contextmanager
def about_event(id_: str) -> Iterator[None]:
    """Log lines written inside carry this event's id."""
    token = event_id.set(id_)
    try:
        yield
    finally:
        event_id.reset(token)


class _CorrelationFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = request_id.get()
        record.event_id = event_id.get()
        record.trace_id = tracing.trace_id()
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure(service: str, level: str = "INFO") -> None:
    """Send every log line of this process to stderr as JSON."""
    handler = _StderrHandler()
    handler.addFilter(_CorrelationFilter(service))
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}{service}{request_id}{event_id}{trace_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # kafka-python logs connection chatter at INFO, and pymongo's DEBUG lines carry whole
    # commands and replies, documents included: even at LOG_LEVEL=DEBUG, only their
    # warnings come through, and each kind of them once a minute (a broker restart makes
    # kafka-python log the same lost connection many times a second).
    for library in LIBRARIES_WITH_DATA_IN_DEBUG:
        logging.getLogger(library).setLevel(logging.WARNING)
    handler.addFilter(_LibraryRepeats(Throttle(60)))


LIBRARIES_WITH_DATA_IN_DEBUG = ("kafka", "pymongo")


class Throttle:
    """Lets a warning about one condition through at most once per interval, and says how
    many were held back meanwhile: a broker away for an hour is a few lines, not thousands."""

    def __init__(self, interval_seconds: float, clock: Callable[[], float] = time.monotonic):
        self.interval = interval_seconds
        self.clock = clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def allows(self, condition: str) -> int | None:
        """None to hold this one back; otherwise how many were held back since the last."""
        with self._lock:
            at = self.clock()
            last = self._last.get(condition)
            if last is not None and at - last < self.interval:
                self._held[condition] = self._held.get(condition, 0) + 1
                return None
            self._last[condition] = at
            return self._held.pop(condition, 0)

    def warning(self, logger: logging.Logger, condition: str, **extra: Any) -> None:
        """Log `condition` as a warning, unless it was logged within the interval."""
        held = self.allows(condition)
        if held is not None:
            logger.warning(condition, extra={**extra, "repeats_held_back": held})


class _LibraryRepeats(logging.Filter):
    """Lets each kind of the libraries' lines (logger and message template) through once
    per interval; our own lines are throttled where they are written."""

    def __init__(self, throttle: Throttle) -> None:
        super().__init__()
        self.throttle = throttle

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[0] not in LIBRARIES_WITH_DATA_IN_DEBUG:
            return True
        held = self.throttle.allows(f"{record.name}:{record.msg}")
        if held:
            record.repeats_held_back = held
        return held is not None
