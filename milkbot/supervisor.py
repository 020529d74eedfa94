"""`milkbot up`: the whole system in the foreground — database, ingest loop (which runs the SQL cycle),
executor, Analytics API, public dashboard — restarting a worker that dies, stopping all on Ctrl-C. With --sim the
workers talk to the local fakes instead of api.weather.gov and Kalshi (an offline demo)."""
from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from datetime import datetime, timedelta, timezone

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


class SimClock:
    """Sim only: the accelerated clock every sim process and the database share (milkbot.clock's
    MILKBOT_CLOCK / _EPOCH / _RATE in the environment; the row in ops.sim_clock, kept fresh while the sim
    runs). MILKBOT_SIM_RATE: sim seconds per wall second (default 144, a day per 10 minutes; 1 = real
    time, with the warm-up); MILKBOT_SIM_START: the sim instant to start at (default now)."""

    def __init__(self, db, sim_at, wall_at, rate: float):
        self.db, self.sim_at, self.wall_at, self.rate = db, sim_at, wall_at, rate
        self.kept = 0.0
        self.paced: list[tuple] = []

    @classmethod
    def start(cls, db, env: dict[str, str]) -> "SimClock":
        rate = float(env.get("MILKBOT_SIM_RATE", "144"))
        if not 1 <= rate <= 100_000:
            raise SystemExit(f"MILKBOT_SIM_RATE must be between 1 and 100000, got {rate:g}")
        wall = datetime.now(timezone.utc).replace(microsecond=0)
        start = env.get("MILKBOT_SIM_START", "").strip()
        sim_at = clock.parse_instant(start) if start else wall
        if sim_at < wall - timedelta(minutes=1):
            # what the database stamps with its own now() (wall) must never lie in the sim's future
            raise SystemExit(f"MILKBOT_SIM_START must not be in the past (it is {start}, now is {wall:%Y-%m-%dT%H:%M}Z)")
        if rate != 1 or start:
            extra = {"MILKBOT_CLOCK": sim_at.isoformat(), "MILKBOT_CLOCK_EPOCH": wall.isoformat(), "MILKBOT_CLOCK_RATE": f"{rate:g}"}
            env.update(extra)
            os.environ.update(extra)          # the fakes run in this process, on the same clock
        return cls(db, sim_at, wall, rate)

    def _exec(self, sql: str, args=()) -> None:
        import psycopg
        with psycopg.connect(self.db.admin_conninfo(), autocommit=True) as conn:
            conn.execute(sql, args)

    def publish(self, world_words: str) -> None:
        self._exec("""insert into ops.sim_clock (sim_at, wall_at, rate, world) values (%s, %s, %s, %s)
                      on conflict (one) do update set sim_at = excluded.sim_at, wall_at = excluded.wall_at, rate = excluded.rate,
                                                      world = excluded.world, set_at = now(), alive_at = now()""",
                   (self.sim_at, self.wall_at, self.rate, world_words))

    # the staleness limits the accelerated sim's operator scales to its pace (ops.sim_pace_limits says
    # which and how): a pass of the ingest loop takes some wall seconds (PASS_WALL_S, generously), which on
    # this clock are rate times as many sim seconds
    PASS_WALL_S = 30                # a pass on a loaded machine (3-5 s on an idle one)

    def pace_limits(self) -> None:
        import psycopg
        if self.rate == 1:
            return
        with psycopg.connect(self.db.admin_conninfo(), autocommit=True) as conn:
            conn.execute("set milkbot.operator = 'sim'")
            self.paced = conn.execute("select * from ops.sim_pace_limits(%s)",
                                      (math.ceil(self.PASS_WALL_S * self.rate / 60),)).fetchall()
        if self.paced:
            print("sim: staleness limits scaled to the sim's pace (restored at stop): "
                  + ", ".join(f"{n} {o:g} -> {v:g} min" for _s, n, o, v in self.paced), flush=True)

    # the demo's operator, as a person would run it: a daily loss halt is cleared on the next trading day
    # (ops.sim_resume_after_daily_loss; the audit names 'sim' as the one who cleared it)
    RESUME = "select ops.sim_resume_after_daily_loss()"

    def keep_alive(self) -> None:
        if time.monotonic() - self.kept > 5:
            try:
                import psycopg
                with psycopg.connect(self.db.admin_conninfo(), autocommit=True) as conn:
                    conn.execute("set milkbot.operator = 'sim'")
                    conn.execute("update ops.sim_clock set alive_at = now()")
                    if self.rate != 1 and conn.execute(self.RESUME).fetchone()[0]:
                        print("sim: a new trading day: the demo's operator resumed trading after yesterday's daily loss halt", flush=True)
                self.kept = time.monotonic()
            except Exception as exc:   # noqa: BLE001 -- the database restarting: the next loop tries again
                print(f"sim: could not refresh the sim clock: {str(exc).splitlines()[0] if str(exc) else exc!r}", flush=True)

    def stop(self) -> None:
        try:
            self._exec("delete from ops.sim_clock")
            import psycopg
            with psycopg.connect(self.db.admin_conninfo(), autocommit=True) as conn:
                conn.execute("set milkbot.operator = 'sim'")
                for strategy, name, old, _new in self.paced:
                    conn.execute("update ops.strategy_params set value = %s where strategy = %s and name = %s",
                                 (old, strategy, name))
        except Exception:   # noqa: BLE001 -- the clock is stale within 30 s anyway
            pass

    @staticmethod
    def clear(db) -> None:
        """Not a sim: no sim clock (a sim that died left its row; it is stale already, this removes it)."""
        import psycopg
        with psycopg.connect(db.admin_conninfo(), autocommit=True) as conn:
            conn.execute("delete from ops.sim_clock")


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
    fakes, world, mover, sim_clock = [], None, None, None
    if not sim:
        SimClock.clear(db)
    if sim:
        from .sim.kalshi_fake import PREFIX, KalshiFake
        from .sim.nws_fake import NwsFake
        from .sim.history_world import HistoryWorld
        sim_clock = SimClock.start(db, env)
        world = HistoryWorld(monthly=True)
        sim_clock.publish(world.describe())
        print(f"sim: {world.describe()}", flush=True)
        if sim_clock.rate != 1:
            print(f"sim: the clock starts at {sim_clock.sim_at:%Y-%m-%d %H:%M}Z and runs {sim_clock.rate:g}x real time "
                  f"(a day per {86400 / sim_clock.rate / 60:.1f} minutes; MILKBOT_SIM_RATE)", flush=True)
        verify_sim_monthly_series(db, world)
        sim_clock.pace_limits()
        env.setdefault("MILKBOT_KALSHI_READS_PER_S", "400")     # the fake exchange is local: no 20/s tier to respect
        from .sim.kalshi_ws_fake import KalshiWsFake
        nws, kalshi, kalshi_ws = NwsFake(world), KalshiFake(world), KalshiWsFake(world)
        env.update(MILKBOT_NWS_BASE_URL=nws.start(), MILKBOT_KALSHI_BASE_URL=kalshi.start() + PREFIX,
                   MILKBOT_KALSHI_WS_URL=kalshi_ws.start(), MILKBOT_MODE="paper")
        fakes = [nws, kalshi, kalshi_ws]
        from .sim.book_mover import BookMover
        mover = BookMover(world, kalshi_ws, every=float(env.get("MILKBOT_SIM_BOOK_EVERY_S", "2" if sim_clock.rate == 1 else "1")),
                          follow_market=True).start()
        print(f"sim: NWS {env['MILKBOT_NWS_BASE_URL']}, Kalshi {env['MILKBOT_KALSHI_BASE_URL']} and {env['MILKBOT_KALSHI_WS_URL']} (paper mode)", flush=True)
    milkbot = str(Path(sys.executable).parent / "milkbot")
    warm = None
    if sim and sim_clock.rate == 1 and not env.get("MILKBOT_SIM_NO_WARMUP"):   # (accelerated: an hour passes in seconds)
        warm = WarmUp(world, env, milkbot)
        warm.thread.start()
    # the API and the dashboard serve at once; the workers start once the warm-up (sim) is done
    serving = {"api": [milkbot, "api"], "dashboard": [milkbot, "dashboard"]}
    # on an accelerated sim clock the sweeps come as often in sim time as they would live, within reason
    speed = sim_clock.rate if sim_clock else 1
    workers = {"ingest": [milkbot, "ingest", "--interval", env.get("MILKBOT_INGEST_INTERVAL", f"{max(300 / speed, 5):g}")],
               "executor": [milkbot, "execute"],
               "feed": [milkbot, "feed"],
               "analytics": [milkbot, "analytics", "--interval", env.get("MILKBOT_ANALYTICS_INTERVAL", f"{max(600 / speed, 20):g}")]}
    procs: dict[str, subprocess.Popen] = {}
    stop = StopRequest("milkbot up")
    logs, logs_checked = logkeeper.logs_of(settings), 0.0
    try:
        while not stop.requested:
            if time.monotonic() - logs_checked > 60:      # every log this command's children write stays bounded
                logkeeper.keep(logs)
                logs_checked = time.monotonic()
            if sim_clock is not None:
                sim_clock.keep_alive()
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
        if sim_clock is not None:
            sim_clock.stop()
    say("milkbot up: stopped")
    return 0
