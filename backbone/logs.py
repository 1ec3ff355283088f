"""JSON logs, one object a line, each carrying the request or event id it belongs to.

Personal data never goes into a log line: log ids, codes and counts, never names,
contact details, notes or request bodies.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
event_id: ContextVar[str | None] = ContextVar("event_id", default=None)


class _CorrelationFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = request_id.get()
        record.event_id = event_id.get()
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
            "{asctime}{levelname}{name}{message}{service}{request_id}{event_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # kafka-python logs connection chatter at INFO, and pymongo's DEBUG lines carry whole
    # commands and replies, documents included: even at LOG_LEVEL=DEBUG, only their
    # warnings come through.
    for library in LIBRARIES_WITH_DATA_IN_DEBUG:
        logging.getLogger(library).setLevel(logging.WARNING)


LIBRARIES_WITH_DATA_IN_DEBUG = ("kafka", "pymongo")
