"""Benchmark: what the market tape costs on disk (issue 25 §2). Records synthetic market-days through
ops.record_feed exactly as the feed does -- per market a snapshot of 6+6 levels, then D signed deltas
(random levels near the top) and T public trades, in batches of 100 -- into a scratch database, then
prints the bytes of the tape's partitions (heap, TOAST and indexes) per message and per market-day, and
per year for Milkbot's markets.

The rates are assumptions, stated: T = 100 trades a market-day (the recorded KXHIGHNY candles in
../shared/data/prices/ show ~80-100 trades per bracket over its life) and D = 2,000 book deltas a
market-day (about 20 book changes per trade; Kalshi publishes no book history to measure it on). A year
is 10 cities x 2 kinds x 6 brackets, each market about two days open: ~120 market-days a day.
Run: `.venv/bin/python bench/tape_size.py [--markets 24] [--deltas 2000] [--trades 100]`.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
from psycopg.types.json import Jsonb

from milkbot import config
from milkbot.db import Database
from _support import scratch_database

NAME = "mbbench_tape"
DAY = datetime(2026, 12, 1, tzinfo=timezone.utc)


def market_messages(ticker: str, sid: int, deltas: int, trades: int, rng: random.Random):
    seq = 1
    yes = {round(0.20 + i / 100, 2): rng.randint(10, 500) for i in range(6)}
    no = {round(0.55 + i / 100, 2): rng.randint(10, 500) for i in range(6)}
    yield {"type": "orderbook_snapshot", "sid": sid, "seq": seq,
           "msg": {"market_ticker": ticker, "market_id": str(uuid.uuid4()),
                   "yes_dollars_fp": [[f"{p:.4f}", f"{q:.2f}"] for p, q in yes.items()],
                   "no_dollars_fp": [[f"{p:.4f}", f"{q:.2f}"] for p, q in no.items()]}}
    every = max(1, deltas // max(1, trades))
    for i in range(deltas):
        seq += 1
        side, book = (("yes", yes) if rng.random() < 0.5 else ("no", no))
        price = rng.choice(list(book))
        delta = rng.choice([-1, 1]) * rng.randint(1, 50)
        if book[price] + delta <= 0:
            delta = abs(delta)
        book[price] += delta
        ts = int((DAY + timedelta(seconds=i * 86400 / deltas)).timestamp() * 1000)
        yield {"type": "orderbook_delta", "sid": sid, "seq": seq,
               "msg": {"market_ticker": ticker, "market_id": "m", "price_dollars": f"{price:.4f}", "delta_fp": f"{delta:.2f}",
                       "side": side, "ts_ms": ts}}
        if i % every == 0:
            yield {"type": "trade", "sid": 99, "msg": {"trade_id": str(uuid.uuid4()), "market_ticker": ticker,
                                                         "yes_price_dollars": "0.2500", "no_price_dollars": "0.7500",
                                                         "count_fp": f"{rng.randint(1, 100)}.00", "taker_outcome_side": "yes",
                                                         "ts_ms": ts}}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--markets", type=int, default=24)
    ap.add_argument("--deltas", type=int, default=2000)
    ap.add_argument("--trades", type=int, default=100)
    args = ap.parse_args()
    db = Database(config.load())
    rng = random.Random(7)
    with scratch_database(db, NAME), psycopg.connect(db.admin_conninfo(NAME), autocommit=True) as conn:
        t0 = time.perf_counter()
        n = 0
        for m in range(args.markets):
            ticker = f"KXHIGHBENCH-26DEC01-B{50 + m}.5"
            batch = []
            for msg in market_messages(ticker, m + 1, args.deltas, args.trades, rng):
                batch.append(msg)
                if len(batch) == 100:
                    conn.execute("select ops.record_feed('bench', %s, %s)", (Jsonb(batch), DAY + timedelta(hours=12)))
                    n += len(batch)
                    batch = []
            if batch:
                conn.execute("select ops.record_feed('bench', %s, %s)", (Jsonb(batch), DAY + timedelta(hours=12)))
                n += len(batch)
        took = time.perf_counter() - t0
        conn.execute("vacuum analyze ops.tape_book, ops.tape_trades")
        sizes = dict(conn.execute("""select p.relname::text, sum(pg_total_relation_size(i.inhrelid))::float8
                                       from pg_inherits i join pg_class p on p.oid = i.inhparent
                                      where i.inhparent in ('ops.tape_book'::regclass, 'ops.tape_trades'::regclass)
                                      group by 1""").fetchall())
        book_rows, trade_rows = conn.execute("select (select count(*) from ops.tape_book), (select count(*) from ops.tape_trades)").fetchone()
    total = sum(sizes.values())
    per_day = total / args.markets
    print(f"recorded {n} messages ({book_rows} book, {trade_rows} trades) for {args.markets} market-days in {took:.1f} s "
          f"= {n / took:,.0f} messages/s through ops.record_feed")
    print(f"tape_book {sizes.get('tape_book', 0) / book_rows:.0f} bytes a message, tape_trades "
          f"{sizes.get('tape_trades', 0) / max(1, trade_rows):.0f} bytes a trade (heap + indexes)")
    print(f"per market-day ({args.deltas} deltas, {args.trades} trades): {per_day / 1e6:.2f} MB; "
          f"a year of Milkbot's markets (~120 market-days a day): {per_day * 120 * 365 / 1e9:.1f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
