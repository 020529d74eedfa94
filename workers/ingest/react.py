"""The reaction (issue 25 §3): a change that matters to one event -- its top of book (the feed), a fill --
is a NOTIFY on milkbot_event with the event's ticker; this runs ops.run_cycle for those events only.

    LISTEN milkbot_event -> hold each event `debounce` seconds (changes arriving meanwhile join it)
    -> ops.run_cycle(now, the events due) -> again

One cycle at a time (and the database's cycle lock besides), so never two for one event at once. The
five-minute full cycle of the ingest pass remains the sweep."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import psycopg

from milkbot import clock

log = logging.getLogger("milkbot.react")


@dataclass
class ReactStats:
    cycles: int = 0
    events: int = 0
    failures: int = 0
    last: dict = field(default_factory=dict)
    ms: list[float] = field(default_factory=list)      # each cycle's time in the database (the last 10,000)


class Reactor:
    def __init__(self, conninfo: str, *, mode: str = "paper", host: str = "paper", now=clock.now, debounce: float = 0.25,
                 should_stop=lambda: False):
        self.conninfo, self.now, self.debounce, self.should_stop = conninfo, now, debounce, should_stop
        self.mode, self.host = mode, host
        self.stats = ReactStats()

    def run(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as listen, \
                psycopg.connect(self.conninfo, autocommit=True) as work:
            listen.execute("listen milkbot_event")
            # the book the cycle decides for, as the ingest pass sets it (paper, demo or live)
            work.execute("select set_config('milkbot.mode', %s, false), set_config('milkbot.host', %s, false)",
                         (self.mode, self.host))
            pending: dict[str, float] = {}            # event -> when its cycle is due (monotonic)
            while not self.should_stop():
                wait = max(0.0, min(pending.values()) - time.monotonic()) if pending else 1.0
                for n in listen.notifies(timeout=wait, stop_after=None if pending else 1):
                    if n.payload:
                        pending.setdefault(n.payload, time.monotonic() + self.debounce)
                due = sorted(e for e, at in pending.items() if at <= time.monotonic())
                if due:
                    for e in due:
                        del pending[e]
                    self.cycle(work, due)

    def cycle(self, work: psycopg.Connection, events: list[str]) -> None:
        try:
            t0 = time.perf_counter()
            self.stats.last = work.execute("select ops.run_cycle(%s, %s)", (self.now(), events)).fetchone()[0]
            self.stats.ms = self.stats.ms[-9999:] + [(time.perf_counter() - t0) * 1000]
            self.stats.cycles += 1
            self.stats.events += len(events)
        except psycopg.Error as exc:
            self.stats.failures += 1
            log.warning("react: the cycle for %s failed: %s", ", ".join(events), str(exc).splitlines()[0])
            try:
                work.execute("select ops.health_event('cycle', 'error', %s)",
                             (f"per-event cycle failed for {', '.join(events)[:200]}: {str(exc).splitlines()[0]}",))
            except psycopg.Error:
                pass
