"""The one clock every Milkbot component reads (ingest, cycle as_of, executor, reconciler, paper broker,
the local fakes).

Unset `MILKBOT_CLOCK`: the system clock (UTC). `MILKBOT_CLOCK=2026-11-25T18:00:00Z`: the clock starts at
that instant when the process first asks and runs on at real speed (replays, demos, fault drills in a
subprocess). Components take a `now` callable defaulting to `clock.now`, so tests inject their own.

The accelerated sim (`milkbot up --sim`) shares one clock across its processes and the database:
`MILKBOT_CLOCK_EPOCH` (a wall-clock instant) and `MILKBOT_CLOCK_RATE` (sim seconds per wall second) make
the clock read `MILKBOT_CLOCK + (wall now - EPOCH) * RATE` in every process alike -- the same formula
the database's `analytics.clock` applies to the row `milkbot up --sim` writes into `ops.sim_clock`.

Two things deliberately stay on the wall clock: Kalshi request signatures (the exchange checks the
timestamp against its own clock) and the database's `now()`, which the public delay is measured
against. To move everything together, run under `faketime` (README, "Tests on other dates").
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

_start: tuple[str, datetime, float] | None = None


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with a zone (`Z` accepted); a naive one is refused rather than guessed."""
    at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if at.tzinfo is None:
        raise ValueError(f"MILKBOT_CLOCK needs a time zone (e.g. 2026-11-25T18:00:00Z), got {text!r}")
    return at.astimezone(timezone.utc)


def now() -> datetime:
    """The current instant, in UTC."""
    global _start
    spec = os.environ.get("MILKBOT_CLOCK", "").strip()
    if not spec:
        return datetime.now(timezone.utc)
    epoch = os.environ.get("MILKBOT_CLOCK_EPOCH", "").strip()
    if epoch:
        return shared(parse_instant(spec), parse_instant(epoch), rate())
    if _start is None or _start[0] != spec:
        _start = (spec, parse_instant(spec), time.monotonic())
    return _start[1] + timedelta(seconds=time.monotonic() - _start[2])


def rate() -> float:
    """Sim seconds per wall second (MILKBOT_CLOCK_RATE, default 1; only with MILKBOT_CLOCK_EPOCH)."""
    text = os.environ.get("MILKBOT_CLOCK_RATE", "").strip() or "1"
    r = float(text)
    if not 0 < r <= 100_000:
        raise ValueError(f"MILKBOT_CLOCK_RATE must be in (0, 100000], got {text!r}")
    return r


def shared(sim_at: datetime, wall_at: datetime, rate: float, wall_now: datetime | None = None) -> datetime:
    """The shared sim clock: `sim_at` at the wall instant `wall_at`, running `rate` times real speed."""
    wall_now = wall_now or datetime.now(timezone.utc)
    return sim_at + (wall_now - wall_at) * rate


class Running:
    """A clock that starts at a given instant and runs on at real speed (what MILKBOT_CLOCK does for a
    process, as an object a test or a benchmark hands to every component it starts)."""

    def __init__(self, start: datetime):
        self.start, self.t0 = start, time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.t0)
