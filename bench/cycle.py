"""Benchmark: one ops.run_cycle over 240 open markets (10 cities x high/low x 2 days x 6 brackets)
and over 2,400 synthetic ones (20 days), first with an empty book, then with live orders present (every
market holding a position and a working order, so the target sizing re-decides each of them). Prints
the median and p90 ms per cycle.

Each timed cycle runs in a transaction that is rolled back, so every run sees the same book.
Run with `make bench` (or `.venv/bin/python bench/cycle.py`).
"""
from __future__ import annotations

import statistics
import time

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


def bench(db: Database, days: int, live: bool, runs: int = 15, history: bool = False, refit: bool = False):
    name = f"mbbench_{days}"
    with scratch_database(db, name), psycopg.connect(db.admin_conninfo(name)) as conn:
        script = SEED + (LIVE if live else "") + (HISTORY if history else "") + (REFIT_DUE if refit else "")
        for statement in filter(str.strip, script.split(";\n")):
            conn.execute(statement, {"as_of": AS_OF, "days": days})
        conn.commit()
        conn.execute("analyze")
        conn.commit()
        n = conn.execute("select count(*) from ops.markets").fetchone()[0]
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            result = conn.execute("select ops.run_cycle(%s)", (AS_OF,)).fetchone()[0]
            times.append((time.perf_counter() - t0) * 1000)
            conn.rollback()
        return n, times, result

def main() -> None:
    db = Database(config.load())
    for live in (False, True):
        for days in (2, 20):
            n, times, result = bench(db, days, live)
            times.sort()
            book = "each with a position and a working order" if live else "empty book"
            print(f"run_cycle over {n:>5} open markets, {book}: median {statistics.median(times):7.1f} ms, "
                  f"p90 {times[int(len(times) * 0.9) - 1]:7.1f} ms ({len(times)} runs; last: {result['intents']} intents, "
                  f"{result.get('cancels', 0)} cancels, {result.get('decreases', 0)} decreases, {result['signals']} signals)",
                  flush=True)
    for refit in (False, True):
        n, times, result = bench(db, 2, False, history=True, refit=refit)
        times.sort()
        what = "a re-fit due (a new CLI final)" if refit else "no re-fit due"
        print(f"run_cycle over {n:>5} open markets with 120 days of forecasts (3 sources) and finals, {what}: "
              f"median {statistics.median(times):7.1f} ms, p90 {times[int(len(times) * 0.9) - 1]:7.1f} ms", flush=True)


if __name__ == "__main__":
    main()
