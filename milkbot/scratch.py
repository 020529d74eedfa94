"""Throw-away databases migrated like production, for the backtest and the priced replay.

Migrating a new database runs every migration and definition file (~1 s here); copying an already
migrated one takes a fraction of that. So the first scratch database of a given `db/` is migrated once
into a template, `milkbot_scratch_tpl_<digest>` (the digest of every migration and definition file, and
of the PGMQ install they embed), and every later one is a copy of it (`create database ... template`).
The template is only a cache: it takes no connections (so a copy never waits for one), a changed `db/`
gets a new one, and the stale ones are dropped when it is made. Two processes making the same template
at once serialise on an advisory lock; the second finds it made.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import psycopg
from psycopg import sql

from .db import Database
from .migrate import DB_DIR, migrate, migration_files, repeatable_files

TEMPLATE_PREFIX = "milkbot_scratch_tpl_"
TEMPLATE_LOCK = 7_220_431_003   # serialises the making of a template (fixed, arbitrary)


def db_digest(db_dir: Path = DB_DIR) -> str:
    """What a migrated database is made of: every migration and definition file, in order, and the PGMQ
    version whose install the migrations embed."""
    from importlib.metadata import version
    h = hashlib.sha256(f"pgmq {version('pgmq')}\0".encode())
    for path in migration_files(db_dir) + repeatable_files(db_dir):
        h.update(f"{path.relative_to(db_dir)}\0".encode() + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _exists(admin: psycopg.Connection, name: str) -> bool:
    return admin.execute("select exists (select 1 from pg_database where datname = %s)", (name,)).fetchone()[0]


def template(db: Database, db_dir: Path = DB_DIR, prefix: str = TEMPLATE_PREFIX) -> str:
    """The name of a database migrated from db_dir that takes no connections: made (and the stale
    ones of the same prefix dropped) when there is none for this digest yet."""
    name = prefix + db_digest(db_dir)
    with psycopg.connect(db.admin_conninfo("postgres"), autocommit=True) as admin:
        if _exists(admin, name):
            return name
        admin.execute("select pg_advisory_lock(%s)", (TEMPLATE_LOCK,))
        try:
            if _exists(admin, name):   # made by another process while this one waited
                return name
            building = f"{name}_building"
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(building)))
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(building)))
            try:
                migrate(db.admin_conninfo(building), db_dir)
                # no connections (autovacuum included): a copy never finds it in use; renamed last, so a
                # template under its final name is always a whole one
                admin.execute(sql.SQL("alter database {} with allow_connections false is_template true")
                              .format(sql.Identifier(building)))
                admin.execute(sql.SQL("alter database {} rename to {}").format(sql.Identifier(building), sql.Identifier(name)))
            except BaseException:
                admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(building)))
                raise
            for (stale,) in admin.execute("select datname from pg_database where datname like %s and datname <> %s",
                                          (prefix.replace("_", r"\_") + "%", name)).fetchall():
                _drop_template(admin, stale)
            return name
        finally:
            admin.execute("select pg_advisory_unlock(%s)", (TEMPLATE_LOCK,))


def _drop_template(admin: psycopg.Connection, name: str) -> None:
    """Drop a stale template; one being copied right now is left for the next time."""
    try:
        admin.execute(sql.SQL("alter database {} is_template false").format(sql.Identifier(name)))
        admin.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(name)))
    except psycopg.errors.ObjectInUse:
        pass


class Scratch:
    """A throw-away database in the same cluster (or server), migrated like production (a copy of the
    migrated template); dropped on exit."""

    def __init__(self, db: Database, name: str | None = None):
        self.db = db
        self.name = name or f"milkbot_backtest_{os.getpid()}"

    def __enter__(self) -> str:
        source = template(self.db)
        with psycopg.connect(self.db.admin_conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(self.name)))
            conn.execute(sql.SQL("create database {} template {}").format(sql.Identifier(self.name), sql.Identifier(source)))
        return self.db.admin_conninfo(self.name)

    def __exit__(self, *exc):
        with psycopg.connect(self.db.admin_conninfo("postgres"), autocommit=True) as conn:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(self.name)))
