"""Loaded by every Python process of `make test-dates` (tests/clock is put first on PYTHONPATH there).

Debian 12's libfaketime (0.9.10) cannot fake time for Python 3.11 as it is: when it fakes the monotonic
clock too, every timed wait on a lock or an event (threading.Event().wait(1)) never returns; when told not
to (FAKETIME_DONT_FAKE_MONOTONIC=1, as the script does), its clock_nanosleep wrapper answers EINVAL to the
absolute monotonic deadline Python's time.sleep uses. So under faked time, and only there, time.sleep
waits in select() instead, which neither breaks."""
import select
import time

_real_sleep = time.sleep


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    select.select([], [], [], seconds)


time.sleep = _sleep
