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
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fakes.ports import free_ports  # noqa: E402

from milkbot import config  # noqa: E402
from milkbot.api import start  # noqa: E402
from _support import scratch_world, wrk  # noqa: E402

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
    name = "mbbench_api"
    state = Path(tempfile.mkdtemp(prefix="mbbench-api-", dir="/var/tmp"))
    os.chmod(state, 0o755)
    procs = None
    with scratch_world(settings, name) as db:
        try:
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
                    r = wrk(f"http://127.0.0.1:{port}{path}")
                    print(f"wrk 20 connections {path:<12} {float(r['rps']):8.0f} req/s  p99 {r['p99']}  non-2xx {r['non2xx']}")
            else:
                print("wrk not installed (make bench installs it): 20-connection figures skipped")
        finally:
            if procs:
                procs.stop()
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
