"""Benchmark: one full ingest pass over 10 cities x high/low against the local fakes (on loopback),
into a scratch database. Prints wall time, HTTP requests and rows written, for a first pass and for an
unchanged second pass."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fakes.harness import NOW, Fakes  # noqa: E402

from milkbot import config  # noqa: E402
from milkbot.db import Database  # noqa: E402
from milkbot.migrate import migrate  # noqa: E402
from workers.ingest.main import Ingest  # noqa: E402

TABLES = ("weather_snapshots", "forecasts", "observations", "climate_reports", "markets", "market_snapshots", "signals", "orders")


def rows(conn) -> int:
    return sum(conn.execute(sql.SQL("select count(*) from ops.{}").format(sql.Identifier(t))).fetchone()[0] for t in TABLES)


def main() -> None:
    db = Database(config.load())
    name = "mbbench_ingest"
    with psycopg.connect(db.admin_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    fakes = Fakes()
    try:
        migrate(db.admin_conninfo(name))
        with psycopg.connect(db.admin_conninfo(name)) as admin, psycopg.connect(db.role_conninfo("milkbot_ingest", name)) as conn:
            for label in ("first pass", "unchanged second pass"):
                n, k = fakes.clients()
                before = rows(admin)
                admin.commit()
                t0 = time.perf_counter()
                report = Ingest(fakes.settings, conn, n, k, now=lambda: NOW).run_once()
                wall = time.perf_counter() - t0
                written = rows(admin) - before
                admin.commit()
                print(f"ingest {label:>22}: {wall * 1000:7.0f} ms wall, {report.requests} HTTP requests, "
                      f"{written} rows written, {report.errors} errors (incl. run_cycle)")
    finally:
        fakes.stop()
        with psycopg.connect(db.admin_conninfo("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
