"""Shared by the API benchmarks: a scratch database (migrated, 120 NYC markets, `fills` delayed fills all
older than two hours, dbt built; dropped on the way out) and one wrk run, parsed."""
from __future__ import annotations

import subprocess
from contextlib import contextmanager

import psycopg
from psycopg import sql

from milkbot.analytics import build
from milkbot.db import Database
from milkbot.migrate import migrate


@contextmanager
def scratch_database(db: Database, name: str, db_dir=None):
    """A migrated database of this name (an old one of the same name is dropped first), dropped on exit.
    db_dir: the db/ folder to migrate from (another revision's, to compare before/after); default ours."""
    with psycopg.connect(db.admin_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        if db_dir is None:
            migrate(db.admin_conninfo(name))
        else:
            migrate(db.admin_conninfo(name), db_dir)
        yield
    finally:
        with psycopg.connect(db.admin_conninfo("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@contextmanager
def scratch_world(settings, name: str, fills: int = 2000):
    db = Database(settings)
    with scratch_database(db, name):
        with psycopg.connect(db.admin_conninfo(name)) as conn:
            conn.execute("""insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                                                     floor_strike, cap_strike, open_time, close_time, status)
                            select 'KXHIGHNY-26NOV' || lpad(d::text, 2, '0') || '-B' || b || '.5', 'KXHIGHNY-26NOV' || lpad(d::text, 2, '0'),
                                   'KXHIGHNY', 'NYC', make_date(2026, 11, d), 'high', 'between', b, b + 1,
                                   now() - interval '30 days', now() + interval '1 day', 'active'
                              from generate_series(1, 20) d, generate_series(40, 50, 2) b""")
            conn.execute("""insert into ops.fills (fill_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
                            select 'f' || i, (select ticker from ops.markets order by ticker offset (i %% 120) limit 1),
                                   case when i %% 3 = 0 then 'ask' else 'bid' end, 0.30 + (i %% 40) / 100.0, 1 + i %% 9, true, 0.02,
                                   now() - interval '2 hours' - i * interval '5 minutes', 'paper'
                              from generate_series(1, %s) i""", (fills,))
        if build(settings, dbname=name, quiet=True) != 0:
            raise SystemExit("dbt build failed")
        yield db

def wrk(url: str, *, seconds: int = 5, connections: int = 20, script: str | None = None) -> dict[str, str]:
    """One wrk run (2 threads): requests/s, p50, p99 and the count of non-2xx answers, as wrk prints them."""
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        args += ["-s", script]
    out = subprocess.run([*args, url], capture_output=True, text=True).stdout
    lines = out.splitlines()
    return {"rps": next(l.split()[1] for l in lines if l.startswith("Requests/sec")),
            "p50": next(l.split()[1] for l in lines if l.strip().startswith("50%")),
            "p99": next(l.split()[1] for l in lines if l.strip().startswith("99%")),
            "non2xx": next((l.split(":")[1].strip() for l in lines if "Non-2xx" in l), "0")}
