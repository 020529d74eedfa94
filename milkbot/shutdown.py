"""Stopping quietly. SIGINT (Ctrl-C) or SIGTERM asks a long-running command to stop: its loop finishes
the step it is in (an ingest pass, a drain + reconcile) and returns, and the command logs one line and
exits 0. A second signal abandons the step: KeyboardInterrupt unwinds it, open transactions roll back
(an order caught between SUBMITTING and its reply is resolved from the exchange at the next start), and
the command still exits 0 with one line. Never a traceback."""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading

PR_SET_PDEATHSIG = 1
# loaded once here, not in the forked child (a dlopen between fork and exec could deadlock on a lock
# another thread held at fork time)
_LIBC = ctypes.CDLL("libc.so.6", use_errno=True) if sys.platform.startswith("linux") else None


class StopRequest:
    def __init__(self, component: str):
        self.component = component
        self._event = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, _frame) -> None:
        if self._event.is_set():
            raise KeyboardInterrupt           # asked twice: abandon the current step
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep between steps; True as soon as a stop is requested."""
        return self._event.wait(max(0.0, seconds))


def say(line: str) -> None:
    """One line to stdout in a single write: several components stopping at once share a terminal or a
    pipe, and a line written in two pieces (text, then newline) can interleave with another's."""
    sys.stdout.flush()
    os.write(sys.stdout.fileno(), (line + "\n").encode())


def quietly(component: str, run) -> int:
    """Run a command's main loop; a stop (or an abandoned step) ends it with one line and exit 0."""
    try:
        code = run()
    except KeyboardInterrupt:
        say(f"{component}: stopped (current step abandoned and rolled back)")
        return 0
    return code


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """preexec_fn for children that must not outlive the process that started them (Linux only): the
    kernel sends `sig` when the parent dies, even by SIGKILL."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, sig)
