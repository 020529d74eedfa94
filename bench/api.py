"""Benchmark: requests/s and latency of /v1/trades and /v1/metrics through nginx -> PostgREST on
loopback, with 2,000 delayed fills and their dbt rollups in a scratch database. The load generator is
a few keep-alive client threads in this process (bounded: a fixed number of requests per endpoint),
so the figures include its own overhead on this 2-core machine."""
from __future__ import annotations

import http.client
import os
import shutil
import statistics
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
    finally:
        if procs:
            procs.stop()
        shutil.rmtree(state, ignore_errors=True)
        with psycopg.connect(db.admin_conninfo("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
