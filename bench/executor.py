"""Benchmark: the executor end to end on loopback, demo mode: intents queued (ops.orders + pgmq) ->
claimed -> signed V2 POST to the local fake exchange -> outcome recorded -> message archived.

Prints orders/s and p50/p99 ms per order with one executor process and with two draining the same
queue at once, and proves that with two nobody sent an intent twice (exactly one POST and one exchange
order per intent). Then one full reconcile pass with 1,050 resting orders the exchange lists in pages of 7
(150 pages), every one matched to ours. The fake exchange runs in this process, so its own Python time is part of every
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


def reconcile_bench(admin, fakes, key_file: str, orders: int = 1050, page: int = 7, runs: int = 5) -> None:
    """1,050 resting orders at the exchange, one per (synthetic) market, all ours and RESTING here: the
    listing comes in 150 pages of 7; time one full reconcile pass (listing, apply, fills, cancels,
    decreases, positions)."""
    import dataclasses
    import uuid
    from decimal import Decimal
    from workers.common.http import Client
    from workers.common.kalshi_auth import KalshiSigner
    from workers.executor.brokers import KalshiBroker
    from workers.executor.main import Executor
    admin.execute("""insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                                              floor_strike, cap_strike, open_time, close_time, status)
                     select 'KXBENCH-E' || (n / 6) || '-B' || n, 'KXBENCH-E' || (n / 6), 'KXBENCH', 'NYC', %s::date + 1, 'high', 'between', 50, 51,
                            %s::timestamptz - interval '1 day', %s::timestamptz + interval '2 days', 'active'
                       from generate_series(1, %s) n""", (NOW, NOW, NOW, orders))
    admin.execute("""insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of, time_in_force)
                     select 'reconcile|' || n, 'mb-recon-' || n, 'KXBENCH-E' || (n / 6) || '-B' || n, 'DailyHigh', 'bid', 0.30, 5, 'demo', 'fake', %s, 'good_till_canceled'
                       from generate_series(1, %s) n""", (NOW, orders))
    admin.execute("select set_config('milkbot.transition_reason', 'bench: resting', false)")
    admin.execute("update ops.orders set state = 'SUBMITTING' where intent_key like 'reconcile|%'")
    admin.execute("update ops.orders set state = 'RESTING', exchange_order_id = 'x-' || client_order_id where intent_key like 'reconcile|%'")
    admin.commit()
    fakes.kalshi.orders.clear(), fakes.kalshi.by_client.clear(), fakes.kalshi.fills.clear()
    for n in range(1, orders + 1):
        oid = str(uuid.UUID(int=n))
        fakes.kalshi.orders[oid] = {"order_id": oid, "client_order_id": f"mb-recon-{n}", "ticker": f"KXBENCH-E{n // 6}-B{n}", "side": "bid",
                                    "price": Decimal("0.30"), "count": Decimal(5), "fill_count": Decimal(0), "status": "resting",
                                    "created": NOW, "taker_fees": Decimal(0)}
        fakes.kalshi.by_client[f"mb-recon-{n}"] = oid
    fakes.kalshi.page_size = page
    settings = dataclasses.replace(config.load(), mode="demo", kalshi_base_url=fakes.kalshi_url)
    client = Client(fakes.kalshi_url, {"Accept": "application/json"}, timeout=10.0, attempts=1,
                    signer=KalshiSigner.from_file("bench-key", key_file))
    db = Database(settings)
    with psycopg.connect(db.role_conninfo("milkbot_executor", NAME)) as conn:
        ex = Executor(settings, conn, KalshiBroker(client, "fake"), "fake", now=lambda: NOW)
        times = []
        for _ in range(runs):
            before = sum(1 for m, p in fakes.kalshi.requests if p.endswith("/portfolio/orders"))
            t0 = time.perf_counter()
            report = ex.reconcile()
            times.append(time.perf_counter() - t0)
            pages = sum(1 for m, p in fakes.kalshi.requests if p.endswith("/portfolio/orders")) - before
    matched = admin.execute("select count(*) from ops.orders where intent_key like 'reconcile|%%' and state = 'RESTING' and exchange_order_id = any(%s)",
                            (list(fakes.kalshi.orders),)).fetchone()[0]
    admin.commit()
    print(f"reconcile with {orders} resting orders listed in {pages} pages of {page}: median {statistics.median(times) * 1000:.0f} ms, "
          f"max {max(times) * 1000:.0f} ms ({runs} runs); {matched} matched to ours, report {report.get('orders')}", flush=True)


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
            reconcile_bench(admin, fakes, key.name)
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
