"""`milkbot db backup` / `milkbot db restore`: pg_dump of the database (custom format, compressed), and a
restore into a new database, checked table by table against the row counts recorded at dump time.

A dump is written as NAME.partial and renamed when pg_dump has finished, so a crash never leaves a file
that looks whole; next to it NAME.counts.json holds every table's exact row count inside the dump's own
snapshot (the same repeatable-read transaction pg_dump is handed), which `restore` compares against.
Roles are cluster-wide and not in a dump: restore into a cluster where `milkbot db migrate` has run
(deploy/README.md, "Backups").
"""
from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from . import clock
from .cluster import ClusterError, find_pg_bin
from .db import Database

# the schemas Milkbot's data lives in (pg_catalog & co. are the server's)
COUNTED = "select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace " \
          "where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') " \
          "and not c.relispartition order by 1, 2"


class BackupError(Exception):
    pass


def _tool(name: str, db: Database) -> str:
    try:
        return str(find_pg_bin(db.settings.pg_bin) / name)
    except ClusterError:
        found = shutil.which(name)
        if not found:
            raise BackupError(f"{name} not found (install postgresql-client-15)") from None
        return found


def row_counts(conn: psycopg.Connection) -> dict[str, int]:
    """Exact row count of every table (not the planner's estimate)."""
    counts = {}
    for schema, table in conn.execute(COUNTED).fetchall():
        q = sql.SQL("select count(*) from {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        counts[f"{schema}.{table}"] = conn.execute(q).fetchone()[0]
    return counts


def backup(db: Database, to: Path, *, dbname: str | None = None, keep_days: int | None = None) -> Path:
    """Dump the database into `to`; prune dumps older than `keep_days`. Returns the dump's path."""
    to.mkdir(parents=True, exist_ok=True)
    name = dbname or db.settings.db_name
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    dump = to / f"{name}-{stamp}.dump"
    partial = dump.with_name(dump.name + ".partial")
    with psycopg.connect(db.admin_conninfo(dbname)) as conn:
        # one snapshot for the counts and the dump: pg_dump --snapshot takes this transaction's
        conn.execute("set transaction isolation level repeatable read, read only")
        snapshot = conn.execute("select pg_export_snapshot()").fetchone()[0]
        counts = row_counts(conn)
        proc = subprocess.run([_tool("pg_dump", db), "--format=custom", "--compress=6", "--snapshot", snapshot,
                               "--file", str(partial), "--dbname", db.admin_conninfo(dbname)],
                              capture_output=True, text=True)
        conn.rollback()
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
    dump.with_name(dump.name + ".counts.json").write_text(json.dumps(counts, indent=1, sort_keys=True))
    partial.rename(dump)
    if keep_days is not None:
        prune(to, name, keep_days)
    return dump


def prune(folder: Path, name: str, keep_days: int) -> list[Path]:
    """Remove dumps (and their counts) older than keep_days, judged by the time in their names; the
    newest dump is always kept."""
    cutoff = (clock.now() - timedelta(days=keep_days)).strftime("%Y%m%dT%H%M%SZ")
    dumps = sorted(folder.glob(f"{name}-*.dump"))
    removed = []
    for d in dumps[:-1]:
        if d.stem.removeprefix(f"{name}-") < cutoff:
            d.unlink()
            d.with_name(d.name + ".counts.json").unlink(missing_ok=True)
            removed.append(d)
    return removed


def restore(db: Database, dump: Path, into: str) -> dict[str, tuple[int, int]]:
    """Restore `dump` into a new database `into` (refused if it exists) in one transaction, then compare
    every table's rows with the counts recorded at dump time. Returns {table: (dumped, restored)};
    raises BackupError (and drops the new database) on any difference."""
    if not dump.is_file():
        raise BackupError(f"{dump}: no such dump")
    counts_file = dump.with_name(dump.name + ".counts.json")
    expected = json.loads(counts_file.read_text()) if counts_file.is_file() else None
    with psycopg.connect(db.admin_conninfo("postgres"), autocommit=True) as conn:
        if conn.execute("select 1 from pg_database where datname = %s", (into,)).fetchone():
            raise BackupError(f"database {into!r} exists: restore only into a new one")
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(into)))
    ok = False
    try:
        proc = subprocess.run([_tool("pg_restore", db), "--exit-on-error", "--single-transaction",
                               "--dbname", db.admin_conninfo(into), str(dump)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise BackupError(f"pg_restore failed ({proc.returncode}): {proc.stderr.strip()[:500]}")
        with psycopg.connect(db.admin_conninfo(into)) as conn:
            got = row_counts(conn)
        if expected is None:
            ok = True
            return {t: (n, n) for t, n in got.items()}
        compared = {t: (expected.get(t, -1), got.get(t, -1)) for t in sorted(set(expected) | set(got))}
        wrong = {t: c for t, c in compared.items() if c[0] != c[1]}
        if wrong:
            raise BackupError("restored row counts differ: " + ", ".join(f"{t} {a}→{b}" for t, (a, b) in wrong.items()))
        ok = True
        return compared
    finally:
        if not ok:
            with psycopg.connect(db.admin_conninfo("postgres"), autocommit=True) as conn:
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(into)))
