"""The whole stack, started as `make run` starts it: one per test module."""

from __future__ import annotations

import pytest

from tests.e2e.stack import Stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("var"), tmp_path_factory.mktemp("logs") / "stack.log")
    stack.start()
    yield stack
    if stack.process and stack.process.poll() is None:  # a test may have stopped it
        stack.stop()
