"""Waiting for an event, not for a time: poll a check until it holds, fail with what was awaited."""
from __future__ import annotations

import time

import pytest

POLL_S = 0.05


def wait_for(check, what: str, timeout: float = 30.0, gone=None):
    """Return check()'s first truthy value. `gone` (optional) returns a message when whatever we wait
    on can no longer produce the event (a process exited, a thread ended): fail at once with it."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        reason = gone() if gone else None
        if reason:
            pytest.fail(f"{reason} while waiting for {what}")
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        # The events awaited here happen in other processes (an executor, a server, the database) that
        # offer no notification to block on, so the check is polled; the test proceeds the moment the
        # event is seen, and nothing is assumed about how long it takes.
        time.sleep(POLL_S)
