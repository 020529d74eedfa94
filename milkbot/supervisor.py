"""`milkbot up`: the whole system in the foreground — database, ingest loop (which runs the SQL cycle),
executor, Analytics API — restarting a worker that dies, stopping all on Ctrl-C. With --sim the
workers talk to the local fakes instead of api.weather.gov and Kalshi (an offline demo)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import config
from .db import Database
from .migrate import migrate


def up(sim: bool = False) -> int:
    settings = config.load()
    db = Database(settings)
    if db.cluster:
        db.cluster.start()
        db.ensure_database()
    print(f"database: {migrate(db.admin_conninfo()).summary()}", flush=True)
    env = dict(os.environ)
    fakes = []
    if sim:
        from .sim.kalshi_fake import PREFIX, KalshiFake
        from .sim.nws_fake import NwsFake
        from .sim.world import World
        world = World()
        nws, kalshi = NwsFake(world), KalshiFake(world)
        env.update(MILKBOT_NWS_BASE_URL=nws.start(), MILKBOT_KALSHI_BASE_URL=kalshi.start() + PREFIX, MILKBOT_MODE="paper")
        fakes = [nws, kalshi]
        print(f"sim: NWS {env['MILKBOT_NWS_BASE_URL']}, Kalshi {env['MILKBOT_KALSHI_BASE_URL']} (paper mode)", flush=True)
    milkbot = str(Path(sys.executable).parent / "milkbot")
    commands = {"ingest": [milkbot, "ingest", "--interval", env.get("MILKBOT_INGEST_INTERVAL", "300")],
                "executor": [milkbot, "execute"], "api": [milkbot, "api"]}
    procs: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, cmd in commands.items():
                p = procs.get(name)
                if p is None or p.poll() is not None:
                    if p is not None:
                        print(f"{name} exited ({p.returncode}); restarting", flush=True)
                    procs[name] = subprocess.Popen(cmd, env=env)
            time.sleep(2)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs.values():
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        for f in fakes:
            f.stop()
    return 0
