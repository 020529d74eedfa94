"""Benchmark: requests/s and latency of /v1/trades, /v1/metrics and /v1/health through nginx -> PostgREST
on loopback, with 2,000 delayed fills and their dbt rollups in a scratch database.

Two load generators: a few keep-alive client threads in this process (bounded: a fixed number of
requests per endpoint; their own overhead is in the figures), and wrk (Debian) with 20 concurrent
connections for 5 s per path, after loading a month of health history (2.6 million events: the
86,000 a day the old heartbeat wrote) to show /v1/health no longer depends on it."""
from __future__ import annotations

import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fakes.ports import free_ports  # noqa: E402

from milkbot import config  # noqa: E402
from milkbot.analytics import build
from milkbot.api import start
from milkbot.db import Database
from milkbot.migrate import migrate

REQUESTS = 4000
THREADS = 4




def load(port: int, path: str) -> tuple[float, list[float]]:
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = REQUESTS // THREADS

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        for _ in range(per_thread):
            t0 = time.perf_counter()
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise RuntimeError(f"{path}: HTTP {r.status}")
            mine.append(time.perf_counter() - t0)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / (time.perf_counter() - t0), sorted(latencies)


def main() -> None:
    settings = config.load()
    db = Database(settings)
    name = "mbbench_api"
    with psycopg.connect(db.admin_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    state = Path(tempfile.mkdtemp(prefix="mbbench-api-", dir="/var/tmp"))
    os.chmod(state, 0o755)
    procs = None
    try:
        migrate(db.admin_conninfo(name))
        with psycopg.connect(db.admin_conninfo(name)) as conn:
            conn.execute("""insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                                                     floor_strike, cap_strike, open_time, close_time, status)
                            select 'KXHIGHNY-26NOV' || lpad(d::text, 2, '0') || '-B' || b || '.5', 'KXHIGHNY-26NOV' || lpad(d::text, 2, '0'),
                                   'KXHIGHNY', 'NYC', make_date(2026, 11, d), 'high', 'between', b, b + 1,
                                   now() - interval '30 days', now() + interval '1 day', 'active'
                              from generate_series(1, 20) d, generate_series(40, 50, 2) b""")
            conn.execute("""insert into ops.fills (fill_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
                            select 'f' || i, (select ticker from ops.markets order by ticker offset (i % 120) limit 1),
                                   case when i % 3 = 0 then 'ask' else 'bid' end, 0.30 + (i % 40) / 100.0, 1 + i % 9, true, 0.02,
                                   now() - interval '2 hours' - i * interval '5 minutes', 'paper'
                              from generate_series(1, 2000) i""")
        if build(settings, dbname=name, quiet=True) != 0:
            raise SystemExit("dbt build failed")
        ports = free_ports(2)
        procs = start(settings, dbname=name, postgrest_port=ports[0], api_port=ports[1], state=state)
        port = int(procs.url.split(":")[2].split("/")[0])
        for path in ("/v1/trades", "/v1/metrics", "/v1/health"):
            load(port, path)  # warm-up
            rps, lat = load(port, path)
            print(f"{path:<12} {rps:8.0f} req/s  p50 {statistics.median(lat) * 1000:6.2f} ms  "
                  f"p99 {lat[int(len(lat) * 0.99) - 1] * 1000:6.2f} ms  ({len(lat)} requests, {THREADS} connections)")
        with psycopg.connect(db.admin_conninfo(name)) as conn:
            t0 = time.perf_counter()
            conn.execute("""insert into ops.health_events (at, component, level, message)
                            select now() - i * interval '1 second', (array['executor', 'nws_ingest', 'kalshi_ingest', 'reconciler'])[1 + i % 4],
                                   'error', 'bench history'
                              from generate_series(1, 2592000) i""")
            conn.execute("analyze ops.health_events")
            print(f"loaded a month of health history: 2,592,000 events in {time.perf_counter() - t0:.1f} s")
        if shutil.which("wrk"):
            for path in ("/v1/health", "/v1/trades"):
                out = subprocess.run(["wrk", "-t2", "-c20", "-d5s", "--latency", f"http://127.0.0.1:{port}{path}"],
                                     capture_output=True, text=True).stdout
                rps = next(l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec"))
                p99 = next(l.split()[1] for l in out.splitlines() if l.strip().startswith("99%"))
                non2xx = next((l.split(":")[1].strip() for l in out.splitlines() if "Non-2xx" in l), "0")
                print(f"wrk 20 connections {path:<12} {float(rps):8.0f} req/s  p99 {p99}  non-2xx {non2xx}")
        else:
            print("wrk not installed (make bench installs it): 20-connection figures skipped")
    finally:
        if procs:
            procs.stop()
        shutil.rmtree(state, ignore_errors=True)
        with psycopg.connect(db.admin_conninfo("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
