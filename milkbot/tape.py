"""`milkbot tape export --from DAY --to DAY DIR`: the recorded market tape as files a priced replay
(`milkbot backtest --prices DIR`) reads -- the markets as Kalshi's listing and trade candles in the format
of the recorded prices (../shared/data/prices/), every top-of-book change the feed saw, and every public
trade. What goes in each is SQL's (ops.tape_markets, tape_candles, tape_quotes, tape_ticks)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import psycopg
from psycopg import sql

FILES = {"markets": "select * from ops.tape_markets({}, {})",
         "candles_5m": "select * from ops.tape_candles({}, {}, 5)",
         "quotes": "select * from ops.tape_quotes({}, {})",
         "ticks": "select * from ops.tape_ticks({}, {})"}


def export(conninfo: str, first: date, last: date, out: Path) -> dict[str, int]:
    """Days first..last (UTC, inclusive) into out/<name>_<first>_<last>.csv; returns the rows per file."""
    if last < first:
        raise ValueError(f"--to {last} is before --from {first}")
    lo = datetime.combine(first, time(0), timezone.utc)
    hi = datetime.combine(last + timedelta(days=1), time(0), timezone.utc)
    out.mkdir(parents=True, exist_ok=True)
    rows = {}
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        for name, query in FILES.items():
            path = out / f"{name}_{first}_{last}.csv"
            q = sql.SQL("copy ({}) to stdout with (format csv, header)").format(
                sql.SQL(query).format(sql.Literal(lo), sql.Literal(hi)))
            n = -1                                    # the header line
            with path.open("wb") as f, cur.copy(q) as copy:
                for block in copy:
                    f.write(block)
                    n += bytes(block).count(b"\n")
            rows[path.name] = max(n, 0)
    return rows
