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


class ForegroundGroup:
    """Make this process the terminal's foreground process group while it runs, and give the terminal back
    to the group it took it from at the end.

    Why: `make run` execs `milkbot up`, so make waits in the same process group; Ctrl-C at the terminal
    reaches every process of the foreground group, and GNU make answers SIGINT by re-raising it after its
    child ends: `make run` would exit 130 however cleanly milkbot stopped. In a group of its own in the
    foreground, only milkbot hears Ctrl-C; it stops everything with one line each and exits 0, and so does
    make. Does nothing when stdin is not a terminal or this process is not in the foreground."""

    def __init__(self):
        self.fd, self.previous = None, None

    def __enter__(self):
        try:
            fd = sys.stdin.fileno()
            if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp() and os.getpid() != os.getsid(0):
                previous = os.getpgrp()
                os.setpgid(0, 0)
                self._set(fd, os.getpgrp())
                self.fd, self.previous = fd, previous
        except (OSError, ValueError):
            pass
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            try:
                self._set(self.fd, self.previous)
            except OSError:
                pass
        return False

    @staticmethod
    def _set(fd: int, pgrp: int) -> None:
        # a process outside the foreground group that changes it gets SIGTTOU unless it ignores it
        old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        try:
            os.tcsetpgrp(fd, pgrp)
        finally:
            signal.signal(signal.SIGTTOU, old)
