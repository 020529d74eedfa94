"""Benchmark: one ops.run_cycle over 240 open markets (10 cities x high/low x 2 days x 6 brackets)
and over 2,400 synthetic ones (20 days), first with an empty book, then with live orders present (every
market holding a position and a working order, so the target sizing re-decides each of them), and the
per-event cycle of one ladder among the 240 -- rolled back, and committed at later decision times as the
reaction runs it (a commit empties the cycle's working tables: what that does to the next cycle shows only
there). Prints the median and p90 ms per cycle.

Each timed cycle runs in a transaction that is rolled back, so every run sees the same book; three untimed
cycles first, as in a worker's session that has run cycles before (plans cached, the cycle's working
tables made: ops.cycle_tables).
Run with `make bench` (or `.venv/bin/python bench/cycle.py`).

Before/after in one run: `--before REV` (default 19eb1ff, main when issue 23 was filed) checks that
revision's db/ out into a temporary git worktree, migrates a second scratch database from it and times
the same worlds there, runs of the two interleaved so both see the same machine. `--before none` skips it.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

from milkbot import config
from milkbot.db import Database
from _support import scratch_database

AS_OF = "2026-11-25 18:00Z"
SEED = """
insert into ops.exchange_status values (true, true, true, %(as_of)s::timestamptz - interval '1 minute');
with days as (select d::date as day, row_number() over (order by d) as n
                from generate_series(date '2026-11-26', date '2026-11-26' + (%(days)s - 1), interval '1 day') d),
ev as (select c.code, c.high_series, c.low_series, k.kind, d.day,
              case k.kind when 'high' then c.high_series else c.low_series end || '-' || upper(to_char(d.day, 'YYMONDD')) as event,
              case k.kind when 'high' then 55 else 40 end + (hashtext(c.code || d.day) %% 5) as centre
         from ops.cities c cross join (values ('high'), ('low')) k(kind) cross join days d),
br as (select ev.*, b.i,
              case when b.i = 0 then 'less' when b.i = 5 then 'greater' else 'between' end as st,
              -- a complete ladder: <= c-4 | c-3..c-2 | c-1..c | c+1..c+2 | c+3..c+4 | >= c+5
              case when b.i = 0 then null when b.i = 5 then ev.centre + 4 else ev.centre - 5 + 2 * b.i end as fl,
              case when b.i = 0 then ev.centre - 3 when b.i = 5 then null else ev.centre - 4 + 2 * b.i end as cp
         from ev cross join generate_series(0, 5) b(i))
insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type, floor_strike, cap_strike,
                         open_time, close_time, status, open_interest, volume)
select event || '-' || case when st = 'between' then 'B' || (fl + 0.5) when st = 'less' then 'T' || cp else 'T' || fl end,
       event, split_part(event, '-', 1), code, day, kind::ops.market_kind, st, fl, cp,
       %(as_of)s::timestamptz - interval '1 day', (day + 1)::timestamp + interval '5 hours', 'active', 100, 1000
  from br;
insert into ops.weather_snapshots (source, entity, city_code, fetched_at, content_hash, payload)
select 'nws_gridpoint', 'bench-' || code, code, %(as_of)s::timestamptz - interval '10 minutes', repeat('a', 64), '{}' from ops.cities;
insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at, fetched_at, grid_id, grid_x, grid_y)
select w.id, m.city_code, m.climate_date, m.kind::text, 'gridpoint',
       avg(coalesce(m.floor_strike, m.cap_strike)) + 0.7, w.fetched_at, w.fetched_at, 'OKX', 1, 1
  from ops.markets m join ops.weather_snapshots w on w.entity = 'bench-' || m.city_code
 group by w.id, w.fetched_at, m.city_code, m.climate_date, m.kind;
insert into ops.market_snapshots (source, ticker, fetched_at, yes_bid, yes_bid_size, yes_ask, yes_ask_size, content_hash)
select 'orderbook', ticker, %(as_of)s::timestamptz - interval '1 minute',
       0.10 + (abs(hashtext(ticker)) %% 20) / 100.0, 40, 0.14 + (abs(hashtext(ticker)) %% 20) / 100.0, 40, repeat('b', 64)
  from ops.markets;
"""


# every market: a filled position of 3 YES and a resting bid for 5 more at the current ask
LIVE = """
insert into ops.fills (fill_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
select 'bench-' || ticker, ticker, 'bid', 0.14 + (abs(hashtext(ticker)) %% 20) / 100.0, 3, true, 0.03,
       %(as_of)s::timestamptz - interval '2 hours', 'paper'
  from ops.markets;
insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of)
select 'bench|' || ticker, 'mb-bench-' || substr(md5(ticker), 1, 20), ticker,
       case kind when 'high' then 'DailyHigh' else 'DailyLow' end::ops.strategy, 'bid',
       0.14 + (abs(hashtext(ticker)) %% 20) / 100.0, 5, 'paper', 'paper', %(as_of)s::timestamptz - interval '1 hour'
  from ops.markets;
select set_config('milkbot.transition_reason', 'bench: sent', false);
update ops.orders set state = 'SUBMITTING';
update ops.orders set state = 'RESTING', exchange_order_id = 'x-' || id;
"""


# 120 days of history: every city's forecasts from the three sources, fetched four times a day for the
# next four days, and a CLI final each day; one calibration fit an hour before the decision. With
# `refit`, a new final lands half an hour before it, so every timed cycle also re-fits.
HISTORY = """
insert into ops.weather_snapshots (source, entity, city_code, fetched_at, content_hash, payload)
select s.ws::ops.weather_source, 'hist-' || c.code || '-' || s.ws, c.code, t, repeat('e', 64), '{}'
  from ops.cities c
 cross join (values ('nws_gridpoint'), ('nws_forecast'), ('nws_hourly')) s(ws)
 cross join generate_series(%(as_of)s::timestamptz - interval '120 days', %(as_of)s::timestamptz - interval '7 hours', interval '6 hours') t;
insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at, fetched_at, grid_id, grid_x, grid_y)
select w.id, w.city_code, ops.climate_date(w.fetched_at, c.std_utc_offset) + l, k.kind,
       case w.source when 'nws_gridpoint' then 'gridpoint' when 'nws_forecast' then 'forecast_12h' else 'hourly' end::ops.forecast_source,
       case k.kind when 'high' then 55 else 40 end + (hashtext(w.city_code || l || w.fetched_at) %% 7), w.fetched_at, w.fetched_at, 'OKX', 1, 1
  from ops.weather_snapshots w join ops.cities c on c.code = w.city_code
 cross join generate_series(0, 3) l cross join (values ('high'), ('low')) k(kind)
 where w.entity like 'hist-%%';
insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, max_f, min_f, raw_text)
select c.code, d::date, 'hist-' || d::date, true, d + interval '1 day 12 hours',
       55 + (hashtext(c.code || d) %% 9), 40 + (hashtext(d || c.code) %% 9), 'CLI'
  from ops.cities c cross join generate_series(%(as_of)s::timestamptz - interval '120 days', %(as_of)s::timestamptz - interval '2 days', interval '1 day') d;
select ops.fit_calibration(%(as_of)s::timestamptz - interval '1 hour');
"""
REFIT_DUE = """
insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, max_f, min_f, raw_text)
select code, '2026-11-24', 'due', true, %(as_of)s::timestamptz - interval '30 minutes', 60, 45, 'CLI' from ops.cities;
"""


BASELINE = "19eb1ff"   # main when issue 23 was filed ("240 markets ~ 40 ms, 2,400 with live orders ~ 400 ms")
ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def revision_db_dir(rev: str):
    """That revision's db/ folder, from a temporary git worktree removed on exit."""
    with tempfile.TemporaryDirectory(prefix="mbbench-rev-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), rev], check=True)
        try:
            yield tree / "db"
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)


@contextmanager
def world(db: Database, name: str, days: int, live: bool, history: bool, refit: bool, db_dir=None):
    with scratch_database(db, name, db_dir), psycopg.connect(db.admin_conninfo(name)) as conn:
        script = SEED + (LIVE if live else "") + (HISTORY if history else "") + (REFIT_DUE if refit else "")
        for statement in filter(str.strip, script.split(";\n")):
            conn.execute(statement, {"as_of": AS_OF, "days": days})
        conn.commit()
        conn.execute("analyze")
        conn.commit()
        # a worker's session: the cycle's working tables exist (made by its first cycle, kept for the
        # session); each timed cycle is rolled back, which would otherwise undo them every time
        if conn.execute("select to_regprocedure('ops.cycle_tables()') is not null").fetchone()[0]:
            conn.execute("select ops.cycle_tables()")
            conn.commit()
        yield conn


def timed_cycle(conn, event: str | None = None) -> tuple[float, dict]:
    """One cycle, rolled back: the full one, or with `event` the per-event cycle of that one ladder."""
    t0 = time.perf_counter()
    result = (conn.execute("select ops.run_cycle(%s, array[%s])", (AS_OF, event)) if event
              else conn.execute("select ops.run_cycle(%s)", (AS_OF,))).fetchone()[0]
    ms = (time.perf_counter() - t0) * 1000
    conn.rollback()
    return ms, result


def compare(db: Database, before_dir, days: int, live: bool, runs: int = 15, history: bool = False, refit: bool = False,
            per_event: bool = False):
    """The same world after (ours) and before (another revision's db/), runs interleaved."""
    with world(db, f"mbbench_{days}", days, live, history, refit) as now_conn:
        n = now_conn.execute("select count(*) from ops.markets").fetchone()[0]
        event = now_conn.execute("select min(event_ticker) from ops.markets").fetchone()[0] if per_event else None
        for _ in range(3):   # warm: a worker's session has run cycles before (its plans are cached)
            timed_cycle(now_conn, event)
        if before_dir is None:
            after = [timed_cycle(now_conn, event) for _ in range(runs)]
            return n, sorted(t for t, _ in after), after[-1][1], None
        with world(db, f"mbbench_{days}_before", days, live, history, refit, before_dir) as old_conn:
            for _ in range(3):
                timed_cycle(old_conn, event)
            after, before = [], []
            for _ in range(runs):
                after.append(timed_cycle(now_conn, event))
                before.append(timed_cycle(old_conn, event))
            return n, sorted(t for t, _ in after), after[-1][1], sorted(t for t, _ in before)


def committed_per_event(db: Database, before_dir, runs: int = 40):
    """The per-event cycle as the reaction runs it: committed, each at a later decision time (the world
    otherwise the same; the first cycle's one order stands). A rolled-back cycle hides what a commit does
    to the next one (the working tables are emptied at commit). Returns (cycle ms, commit ms) per side."""
    def side(conn, event):
        cyc, com = [], []
        for i in range(runs + 3):
            t0 = time.perf_counter()
            conn.execute("select ops.run_cycle(%s::timestamptz + make_interval(secs => %s), array[%s])", (AS_OF, i, event)).fetchone()
            t1 = time.perf_counter()
            conn.commit()
            if i >= 3:
                cyc.append((t1 - t0) * 1000)
                com.append((time.perf_counter() - t1) * 1000)
        return sorted(cyc), sorted(com)
    with world(db, "mbbench_commit", 2, False, False, False) as now_conn:
        event = now_conn.execute("select min(event_ticker) from ops.markets").fetchone()[0]
        after = side(now_conn, event)
    if before_dir is None:
        return after, None
    with world(db, "mbbench_commit_before", 2, False, False, False, before_dir) as old_conn:
        return after, side(old_conn, event)


def figures(times) -> str:
    return f"median {statistics.median(times):7.1f} ms, p90 {times[int(len(times) * 0.9) - 1]:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BASELINE, help="revision to compare with (git), or 'none'")
    args = parser.parse_args()
    db = Database(config.load())
    with (revision_db_dir(args.before) if args.before != "none" else _nothing()) as before_dir:
        label = f" | before ({args.before})" if before_dir else ""
        cases = [(days, live, False, False, False) for live in (False, True) for days in (2, 20)] + \
                [(2, False, True, refit, False) for refit in (False, True)] + [(2, False, False, False, True)]
        for days, live, history, refit, per_event in cases:
            n, after, result, before = compare(db, before_dir, days, live, history=history, refit=refit,
                                               runs=40 if per_event else 15, per_event=per_event)
            if per_event:
                what = "the per-event cycle of one ladder (6 markets; limits over the whole book)"
            elif history:
                what = "with 120 days of forecasts (3 sources) and finals, " + ("a re-fit due" if refit else "no re-fit due")
            else:
                what = "each with a position and a working order" if live else "empty book"
            line = (f"run_cycle over {n:>5} open markets, {what}: after {figures(after)}"
                    + (f"{label} {figures(before)}; after/before {statistics.median(after) / statistics.median(before):.2f}"
                       if before else "")
                    + f" ({len(after)} runs; last: {result['intents']} intents, {result.get('cancels', 0)} cancels, "
                      f"{result.get('decreases', 0)} decreases, {result['signals']} signals)")
            print(line, flush=True)
        (cyc, com), before = committed_per_event(db, before_dir)
        print(f"run_cycle over   240 open markets, the per-event cycle committed at each of 40 later decision times (as the "
              f"reaction runs it): after {figures(cyc)}, commit {figures(com)}"
              + (f"{label} {figures(before[0])}, commit {figures(before[1])}; after/before "
                 f"{statistics.median(cyc) / statistics.median(before[0]):.2f}" if before else ""), flush=True)


@contextmanager
def _nothing():
    yield None


if __name__ == "__main__":
    main()
