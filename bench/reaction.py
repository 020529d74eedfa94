"""Benchmark (issue 25 §3): a book change at the exchange -> the order received by the exchange, end to end on
loopback with the fakes: the fake WebSocket exchange moves a book -> the feed (ops.record_feed: tape, live
book, quote row, NOTIFY) -> the reaction (debounce, ops.run_cycle for that event: signal, sizing, intent
and pgmq message) -> the executor woken by pgmq's insert notification -> a signed V2 POST to the fake REST
exchange. Prints p50/p99 over N changes (default 1,000) and the per-event cycle's own time in the database.

Each change offers YES one cent over the bid of a bracket whose model p is 7+ cents above it (an edge of
5+ cents; one bracket per event, in turn), then takes the offer away again; the offer's size differs from
round to round, since an order identical to one of the last five minutes is the same intent (exactly once). Limits and bankroll are raised in this scratch database so
every change is worth an order (what is measured is the path, not the sizing). The fakes run in this
process: their Python time is in every figure. Run: `.venv/bin/python bench/reaction.py [--changes N]`.
"""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from fakes.harness import NOW, Fakes  # noqa: E402
from milkbot.clock import Running  # noqa: E402

from milkbot import config  # noqa: E402
from milkbot.db import Database  # noqa: E402
from milkbot.sim.kalshi_ws_fake import KalshiWsFake  # noqa: E402
from _support import scratch_database  # noqa: E402
from workers.common.http import Client  # noqa: E402
from workers.common.kalshi_auth import KalshiSigner  # noqa: E402
from workers.executor.brokers import KalshiBroker  # noqa: E402
from workers.executor.main import Executor  # noqa: E402
from workers.ingest.feed import Feed  # noqa: E402
from workers.ingest.main import Ingest  # noqa: E402
from workers.ingest.react import Reactor  # noqa: E402

NAME = "mbbench_react"


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * q))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--changes", type=int, default=1000)
    args = ap.parse_args()
    settings = config.load()
    db = Database(settings)
    fakes = Fakes()
    ws = KalshiWsFake(fakes.world, public_key=fakes.key.public_key())
    ws_url = ws.start()
    clock = Running(NOW + timedelta(minutes=1))
    stop = threading.Event()
    with scratch_database(db, NAME), psycopg.connect(db.admin_conninfo(NAME), autocommit=True) as admin:
        # the markets and a sweep at NOW (edge bar out of reach: signals, no orders), then the real bar
        admin.execute("update ops.strategy_params set value = 0.5 where strategy = 'all' and name = 'min_edge'")
        n, k = fakes.clients(signed=True)
        with psycopg.connect(db.role_conninfo("milkbot_ingest", NAME)) as conn:
            Ingest(dataclasses.replace(fakes.settings, mode="demo"), conn, n, k, now=lambda: NOW).run_once()
        admin.execute("update ops.strategy_params set value = 0.03 where strategy = 'all' and name = 'min_edge'")
        for name, value in (("bankroll", 10_000_000), ("max_contracts_per_market", 100_000), ("max_event_loss", 1_000_000),
                            ("max_cluster_exposure", 1_000_000), ("max_total_exposure", 10_000_000), ("daily_loss_limit", 1_000_000)):
            admin.execute("update ops.risk_limits set value = %s where name = %s", (value, name))
        # one bracket per event (so no other bracket of it competes), the one with the most room
        targets = admin.execute("""select distinct on (m.event_ticker) s.ticker, s.yes_bid from ops.signals s join ops.markets m using (ticker)
                                    where s.as_of = %s and m.kind in ('high', 'low') and s.model_p - s.yes_bid >= 0.07
                                      and s.model_p < 0.9 and (s.gates->'world'->>'pass')::boolean
                                    order by m.event_ticker, s.model_p - s.yes_bid desc""", (NOW,)).fetchall()
        print(f"{len(targets)} brackets with room for an edge; {args.changes} changes", flush=True)

        # the feed (asyncio, its own thread), the reaction, the executor woken by pgmq
        feed = Feed(db.role_conninfo("milkbot_executor", NAME), ws_url, KalshiSigner("bench", fakes.key), now=clock,
                    watch_every=5, alive_every=1)
        loop = asyncio.new_event_loop()
        threads = [threading.Thread(target=lambda: loop.run_until_complete(feed.run()), daemon=True)]
        host = fakes.kalshi_url.split("/")[2]
        reactor = Reactor(db.role_conninfo("milkbot_ingest", NAME), mode="demo", host=host, now=clock, should_stop=stop.is_set)
        threads.append(threading.Thread(target=reactor.run, daemon=True))

        def execute():
            demo = dataclasses.replace(settings, mode="demo", kalshi_base_url=fakes.kalshi_url)
            client = Client(fakes.kalshi_url, {"Accept": "application/json"}, timeout=10.0, attempts=1,
                            signer=KalshiSigner("bench", fakes.key))
            with psycopg.connect(db.role_conninfo("milkbot_executor", NAME), autocommit=True) as wake, \
                    psycopg.connect(db.role_conninfo("milkbot_executor", NAME)) as conn:
                wake.execute('listen "pgmq.q_order_intents.INSERT"')
                ex = Executor(demo, conn, KalshiBroker(client, host), host, now=clock)
                while not stop.is_set():
                    ex.drain()
                    for _ in wake.notifies(timeout=1, stop_after=1):
                        pass
        threads.append(threading.Thread(target=execute, daemon=True))
        for th in threads:
            th.start()

        deadline = time.monotonic() + 60
        while {t for t, _ in targets} - ws.subscribed() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1)                                   # the first snapshots in
        latencies, missed = [], 0
        for i in range(args.changes):
            if i % 50 == 0:                              # what the five-minute pass would refresh
                admin.execute("update ops.exchange_status set fetched_at = %s", (clock(),))
            t, bid = targets[i % len(targets)]
            posts = len(fakes.kalshi.orders)
            ask = bid + Decimal("0.01")
            # a different size each time: an order identical to one of the last five minutes is the same
            # intent (exactly once), not a new order
            size = Decimal(40 + i // len(targets))
            t0 = time.perf_counter()
            ws.change(t, "no", 1 - ask, size)
            while len(fakes.kalshi.orders) == posts and time.perf_counter() - t0 < 5:
                time.sleep(0.0005)
            if len(fakes.kalshi.orders) > posts:
                latencies.append((time.perf_counter() - t0) * 1000)
            else:
                missed += 1
                print(f"  no order for change {i} on {t}:", admin.execute(
                    "select reason from ops.signals where ticker = %s order by as_of desc limit 1", (t,)).fetchone(), flush=True)
            cycles = reactor.stats.cycles
            ws.change(t, "no", 1 - ask, -size)
            while reactor.stats.cycles == cycles and time.perf_counter() - t0 < 10:
                time.sleep(0.001)                        # the offer gone and its own reaction done
        stop.set()
        loop.call_soon_threadsafe(feed.stop)
        for th in threads:
            th.join(10)
        if not latencies:
            print("no order at all; the reaction:", reactor.stats.cycles, "cycles,", reactor.stats.failures, "failures, last",
                  reactor.stats.last, admin.execute("""select as_of, reason, yes_bid, yes_ask from ops.signals where ticker = %s
                                                        order by as_of desc limit 3""", (targets[0][0],)).fetchall(),
                  admin.execute("select state, count(*) from ops.orders group by 1").fetchall(), feed.stats)
            return 1
        cyc = reactor.stats.ms
        print(f"book change at the exchange -> order received by the exchange: {len(latencies)} of {args.changes} changes, "
              f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms"
              f" ({missed} without an order within 5 s)")
        print(f"per-event cycle (ops.run_cycle for one event, in the database): {len(cyc)} cycles, "
              f"p50 {statistics.median(cyc):.1f} ms, p99 {percentile(cyc, 0.99):.1f} ms")
        n_delta, n_snap = admin.execute("""select count(*) filter (where kind = 'delta'), count(*) filter (where kind = 'snapshot')
                                             from ops.tape_book""").fetchone()
        size = admin.execute("""select sum(pg_total_relation_size(i.inhrelid)) from pg_inherits i
                                 where i.inhparent = 'ops.tape_book'::regclass""").fetchone()[0]
        print(f"tape: {n_delta} deltas and {n_snap} snapshots in {size / 1024:.0f} KiB "
              f"({size / max(1, n_delta + n_snap):.0f} bytes a message, indexes included)")
    ws.stop()
    fakes.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
