"""Benchmark: the executor end to end on loopback, demo mode: intents queued (ops.orders + pgmq) ->
claimed -> signed V2 POST to the local fake exchange -> outcome recorded -> message archived.

Prints orders/s and p50/p99 ms per order with one executor process and with two draining the same
queue at once, and proves that with two nobody sent an intent twice (exactly one POST and one exchange
order per intent). The fake exchange runs in this process, so its own Python time is part of every
figure (the real exchange's latency is not).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from cryptography.hazmat.primitives import serialization
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from fakes.harness import NOW, Fakes  # noqa: E402

from milkbot import config  # noqa: E402
from milkbot.db import Database  # noqa: E402
from milkbot.migrate import migrate  # noqa: E402
from workers.ingest.main import Ingest  # noqa: E402

NAME = "mbbench_executor"


def worker(dbname: str, kalshi_url: str, key_file: str) -> None:
    """One executor process: drain until the queue is empty; print each order's latency (ms) as JSON."""
    import dataclasses
    from workers.common.http import Client
    from workers.common.kalshi_auth import KalshiSigner
    from workers.executor.brokers import KalshiBroker
    from workers.executor.main import Executor
    settings = dataclasses.replace(config.load(), mode="demo", kalshi_base_url=kalshi_url)
    db = Database(settings)
    signer = KalshiSigner.from_file("bench-key", key_file)
    client = Client(kalshi_url, {"Accept": "application/json"}, timeout=10.0, attempts=1, signer=signer)
    with psycopg.connect(db.role_conninfo("milkbot_executor", dbname)) as conn:
        ex = Executor(settings, conn, KalshiBroker(client, "fake"), "fake", now=lambda: NOW)
        latencies = []
        while True:
            t0 = time.perf_counter()
            if ex.drain(max_messages=1) == 0:
                break
            latencies.append((time.perf_counter() - t0) * 1000)
    print(json.dumps(latencies), flush=True)


def queue_intents(admin, tickers: list[str], run: int) -> None:
    admin.execute("""insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of)
                     select 'bench|' || %s || '|' || t, 'mb-bench-' || %s || '-' || n, t, 'DailyHigh', 'bid', 0.01, 1, 'demo', 'fake', %s
                       from unnest(%s::text[]) with ordinality u(t, n)""", (run, run, NOW, tickers))
    admin.execute("""select pgmq.send('order_intents', jsonb_build_object('action', 'submit', 'order_id', id))
                       from ops.orders where state = 'PENDING' order by id""")
    admin.commit()


def run(admin, fakes, tickers, key_file: str, processes: int, run_no: int) -> None:
    fakes.kalshi.orders.clear(), fakes.kalshi.by_client.clear(), fakes.kalshi.requests.clear()
    queue_intents(admin, tickers, run_no)
    env = {**os.environ, "MILKBOT_ENV_FILE": "/nonexistent"}
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, __file__, "worker", NAME, fakes.kalshi_url, key_file], env=env,
                              stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    outs = [p.communicate()[0] for p in procs]
    wall = time.perf_counter() - t0
    lat = sorted(x for o in outs for x in json.loads(o.strip().splitlines()[-1]))
    posts = sum(1 for m, p in fakes.kalshi.requests if m == "POST")
    states = dict(admin.execute("select state::text, count(*) from ops.orders where intent_key like %s group by 1",
                                (f"bench|{run_no}|%",)).fetchall())
    admin.commit()
    per_proc = [len(json.loads(o.strip().splitlines()[-1])) for o in outs]
    print(f"executor x{processes}: {len(lat)} orders in {wall:.2f} s = {len(lat) / wall:6.1f} orders/s "
          f"(incl. process start); per order p50 {statistics.median(lat):.1f} ms, p99 {lat[int(len(lat) * 0.99) - 1]:.1f} ms; "
          f"split {per_proc}")
    once = posts == len(tickers) == len(fakes.kalshi.orders) == len(fakes.kalshi.by_client)
    print(f"  {len(tickers)} intents -> {posts} POSTs, {len(fakes.kalshi.orders)} exchange orders, states {states}: "
          f"{'no intent sent twice' if once else 'DUPLICATE OR MISSING SENDS'}")
    # clear the way for the next run: at most one live intent per market
    admin.execute("update ops.orders set state = 'CANCELED' where state = 'RESTING'")
    admin.commit()


def main() -> None:
    db = Database(config.load())
    with psycopg.connect(db.admin_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(NAME)))
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(NAME)))
    fakes = Fakes()
    key = tempfile.NamedTemporaryFile(suffix=".pem", delete=False)
    try:
        key.write(fakes.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
        key.close()
        migrate(db.admin_conninfo(NAME))
        n, k = fakes.clients()
        with psycopg.connect(db.role_conninfo("milkbot_ingest", NAME)) as conn:
            Ingest(fakes.settings, conn, n, k, now=lambda: NOW).run_once(weather=False, cycle=False)
        with psycopg.connect(db.admin_conninfo(NAME)) as admin:
            tickers = [r[0] for r in admin.execute("select ticker from ops.markets order by ticker")]
            for i, procs in enumerate((1, 2), start=1):
                run(admin, fakes, tickers, key.name, procs, i)
    finally:
        os.unlink(key.name)
        fakes.stop()
        with psycopg.connect(db.admin_conninfo("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(NAME)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        worker(*sys.argv[2:5])
    else:
        main()
