"""`milkbot up`: the whole system in the foreground — database, ingest loop (which runs the SQL cycle),
executor, Analytics API, public dashboard — restarting a worker that dies, stopping all on Ctrl-C. With --sim the
workers talk to the local fakes instead of api.weather.gov and Kalshi (an offline demo)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from datetime import timedelta

from . import clock, config, logkeeper
from .db import Database
from .migrate import migrate
from .shutdown import StopRequest, die_with_parent, say


SIM_WARMUP_BACK = timedelta(hours=2)


def verify_sim_monthly_series(db, world) -> None:
    """Sim only, the demo's operator step: the Monthly series the fake exchange lists are verified and
    enabled (in a real deployment an operator does this after checking GET /series and the rules)."""
    import psycopg
    rows = [(c.code, kind, ticker) for ticker, c, kind in world.monthly_series()]
    with psycopg.connect(db.admin_conninfo(), autocommit=True) as conn:
        conn.execute("set milkbot.operator = 'sim'")
        with conn.cursor() as cur:
            cur.executemany("""update ops.monthly_series
                                  set series_ticker = %s, enabled = true, checked_at = now(),
                                      reason = 'sim: listed by the fake exchange, verified by the demo'
                                where city_code = %s and kind = %s and series_ticker is distinct from %s""",
                            [(t, code, kind, t) for code, kind, t in rows])


class WarmUp:
    """Sim only: one ingest pass and one executor drain on a clock two hours back (MILKBOT_CLOCK, and the
    fakes' world with them), so a demo's dashboard -- which shows trading only 60 minutes late -- has
    signals, paper fills and an equity point soon. Paper money, fake markets; never in real modes.
    It runs beside the API and the dashboard (they serve at once, the dashboard saying it is warming up);
    the workers start when it is done, which it announces ("sim: warm-up done")."""

    def __init__(self, world, env: dict[str, str], milkbot: str):
        self.world, self.env, self.milkbot = world, env, milkbot
        self.proc: subprocess.Popen | None = None
        self.cancelled = False
        self.thread = threading.Thread(target=self.run, name="sim-warm-up", daemon=True)

    def run(self) -> None:
        back = clock.now().replace(microsecond=0) - SIM_WARMUP_BACK
        print(f"sim: warm-up pass at {back:%H:%M}Z (two hours back) so the delayed dashboard has data soon", flush=True)
        self.world.now_fixed = back
        started = time.monotonic()
        try:
            for cmd in ([self.milkbot, "ingest", "--once"], [self.milkbot, "execute", "--once"], [self.milkbot, "analytics"]):
                if self.cancelled:
                    return
                # one sim clock across the three processes: each starts where the previous one's clock had
                # got to (restarting at `back`, the executor would run before the books it fills against)
                at = back + timedelta(seconds=time.monotonic() - started)
                self.world.now_fixed = at.replace(microsecond=0)
                self.proc = subprocess.Popen(cmd, env={**self.env, "MILKBOT_CLOCK": at.isoformat()},
                                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                             preexec_fn=die_with_parent)   # (this thread waits on it: the signal is tied to it)
                self.proc.wait()
        finally:
            self.world.now_fixed = None
        if not self.cancelled:
            print("sim: warm-up done", flush=True)

    def done(self) -> bool:
        return not self.thread.is_alive()

    def cancel(self) -> None:
        self.cancelled = True
        p = self.proc
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        self.thread.join(5)


def up(sim: bool = False) -> int:
    settings = config.load()
    db = Database(settings)
    if db.cluster:
        db.cluster.start()
        db.ensure_database()
    print(f"database: {migrate(db.admin_conninfo()).summary()}", flush=True)
    env = dict(os.environ)
    fakes, world, mover = [], None, None
    if sim:
        from .sim.kalshi_fake import PREFIX, KalshiFake
        from .sim.nws_fake import NwsFake
        from .sim.world import World
        world = World(monthly=True)
        verify_sim_monthly_series(db, world)
        from .sim.kalshi_ws_fake import KalshiWsFake
        nws, kalshi, kalshi_ws = NwsFake(world), KalshiFake(world), KalshiWsFake(world)
        env.update(MILKBOT_NWS_BASE_URL=nws.start(), MILKBOT_KALSHI_BASE_URL=kalshi.start() + PREFIX,
                   MILKBOT_KALSHI_WS_URL=kalshi_ws.start(), MILKBOT_MODE="paper")
        fakes = [nws, kalshi, kalshi_ws]
        from .sim.book_mover import BookMover
        mover = BookMover(world, kalshi_ws, every=float(env.get("MILKBOT_SIM_BOOK_EVERY_S", "2"))).start()
        print(f"sim: NWS {env['MILKBOT_NWS_BASE_URL']}, Kalshi {env['MILKBOT_KALSHI_BASE_URL']} and {env['MILKBOT_KALSHI_WS_URL']} (paper mode)", flush=True)
    milkbot = str(Path(sys.executable).parent / "milkbot")
    warm = None
    if sim and not env.get("MILKBOT_SIM_NO_WARMUP"):
        warm = WarmUp(world, env, milkbot)
        warm.thread.start()
    # the API and the dashboard serve at once; the workers start once the warm-up (sim) is done
    serving = {"api": [milkbot, "api"], "dashboard": [milkbot, "dashboard"]}
    workers = {"ingest": [milkbot, "ingest", "--interval", env.get("MILKBOT_INGEST_INTERVAL", "300")],
               "executor": [milkbot, "execute"],
               "feed": [milkbot, "feed"],
               "analytics": [milkbot, "analytics", "--interval", env.get("MILKBOT_ANALYTICS_INTERVAL", "600")]}
    procs: dict[str, subprocess.Popen] = {}
    stop = StopRequest("milkbot up")
    logs, logs_checked = logkeeper.logs_of(settings), 0.0
    try:
        while not stop.requested:
            if time.monotonic() - logs_checked > 60:      # every log this command's children write stays bounded
                logkeeper.keep(logs)
                logs_checked = time.monotonic()
            commands = {**serving, **workers} if warm is None or warm.done() else serving
            for name, cmd in commands.items():
                p = procs.get(name)
                if p is None or p.poll() is not None:
                    if p is not None:
                        print(f"{name} exited ({p.returncode}); restarting", flush=True)
                    # its own session: a terminal's Ctrl-C reaches only us, and each worker is asked
                    # to stop exactly once (a second signal would abandon its current step)
                    procs[name] = subprocess.Popen(cmd, env=env, start_new_session=True, preexec_fn=die_with_parent)
            stop.wait(0.5 if warm is not None and not warm.done() else 2)
    finally:
        if warm is not None:
            warm.cancel()
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, p in procs.items():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                print(f"{name}: did not stop within 30 s; killed", flush=True)
        if mover is not None:
            mover.stop.set()
        for f in fakes:
            f.stop()
    say("milkbot up: stopped")
    return 0
