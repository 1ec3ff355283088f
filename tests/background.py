"""A worker's task running in a thread, and waiting for what it does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def running(task: Callable[[threading.Event], None]) -> Iterator[None]:
    """Runs `task(stop)` in a thread; sets `stop` and waits for it on the way out."""
    stop = threading.Event()
    thread = threading.Thread(target=task, args=(stop,))
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def wait_for(condition: Callable[[], object], timeout: float) -> bool:
    """Whether `condition()` came true within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
