"""Forward-only migrations plus re-applied definitions, all in one transaction.

* `db/migrations/NNNN_name.sql` run once each, in order, recorded with their SHA-256 in
  `meta.schema_migrations`. An applied file that changed, or vanished, is refused: migrations are never
  edited after landing.
* Then the repeatable definitions (functions, views, grants) listed by `db/load_order` are re-applied
  (`create or replace`), in that dependency order, whenever their combined hash changed or a migration ran.
* A line `-- milkbot:install pgmq` in a migration is replaced by the SQL-only PGMQ install shipped by the
  `pgmq` package (its pinned version is recorded).
* A line `-- milkbot:enum-value <type> <VALUE>` declares an enum value the migration adds (with its own
  `alter type ... add value if not exists`). Postgres refuses to use a value in the transaction that
  added it, so before such a migration the migrations applied so far are committed (and recorded) and
  the value is added on its own; the run goes on in a new transaction. A failure after that point leaves
  the earlier migrations applied — forward-only, consistent, and re-run picks up where it stopped.
Everything happens in one transaction under an advisory lock (split only where an enum value must be
committed before use, see below), so a failure leaves the database as it was and two concurrent runs
cannot interleave.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from .config import PROJECT_ROOT

DB_DIR = PROJECT_ROOT / "db"
MIGRATION_RE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
PGMQ_DIRECTIVE = "-- milkbot:install pgmq"
ENUM_DIRECTIVE = re.compile(r"^-- milkbot:enum-value ([a-z_]+\.[a-z_]+) ([A-Z_]+)$", re.M)
LOCK_KEY = 7_220_431_001  # arbitrary, fixed: serialises concurrent migrators


class MigrationError(RuntimeError):
    pass


@dataclass
class Report:
    applied: list[str] = field(default_factory=list)
    repeatables_applied: int = 0
    already: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.applied or self.repeatables_applied)

    def summary(self) -> str:
        if not self.changed:
            return f"up to date ({self.already} migrations applied; definitions unchanged)"
        parts = []
        if self.applied:
            parts.append(f"applied {len(self.applied)} migration(s): {', '.join(self.applied)}")
        if self.repeatables_applied:
            parts.append(f"re-applied {self.repeatables_applied} definition file(s)")
        return "; ".join(parts)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def migration_files(db_dir: Path = DB_DIR) -> list[Path]:
    files = sorted((db_dir / "migrations").glob("*.sql"))
    for f in files:
        if not MIGRATION_RE.match(f.name):
            raise MigrationError(f"{f.name}: migration files are named NNNN_lowercase_name.sql")
    versions = [MIGRATION_RE.match(f.name).group(1) for f in files]
    dupes = {v for v in versions if versions.count(v) > 1}
    if dupes:
        raise MigrationError(f"two migrations share version(s) {sorted(dupes)}")
    return files


def repeatable_files(db_dir: Path = DB_DIR) -> list[Path]:
    """Definition files in dependency order: each line of db/load_order is a glob, expanded sorted."""
    out: list[Path] = []
    for line in (db_dir / "load_order").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        matches = sorted(db_dir.glob(line))
        if not matches and not any(ch in line for ch in "*?["):
            raise MigrationError(f"db/load_order names {line}, which does not exist")
        out += [m for m in matches if m not in out]
    return out


def _expand(text: str) -> str:
    if PGMQ_DIRECTIVE not in text:
        return text
    from pgmq.install import get_embedded_install_sql
    return text.replace(PGMQ_DIRECTIVE, get_embedded_install_sql())


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _exec_file(conn: psycopg.Connection, path: Path, text: str) -> None:
    try:
        with conn.transaction():  # savepoint, so the error names the file cleanly
            conn.execute(_expand(text))
    except psycopg.Error as exc:
        diag = exc.diag
        where = f" at character {diag.statement_position}" if diag.statement_position else ""
        raise MigrationError(
            f"{_display(path)}{where}: {diag.message_primary or exc}"
            + (f" ({diag.context.splitlines()[0]})" if diag.context else "")
        ) from None


def migrate(conninfo: str, db_dir: Path = DB_DIR) -> Report:
    report = Report()
    files = migration_files(db_dir)
    repeatables = repeatable_files(db_dir)
    rep_hash = sha256("".join(f"{p.relative_to(db_dir)}\0{p.read_text()}\0" for p in repeatables))

    with psycopg.connect(conninfo, autocommit=False) as conn:
        conn.execute("set local client_min_messages = warning")
        conn.execute("select pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute("""
            create schema if not exists meta;
            comment on schema meta is 'Migration bookkeeping (milkbot.migrate); not for applications.';
            create table if not exists meta.schema_migrations (
                version    text primary key check (version ~ '^\\d{4}$'),
                filename   text not null unique,
                sha256     text not null check (sha256 ~ '^[0-9a-f]{64}$'),
                applied_at timestamptz not null default now(),
                applied_by text not null default session_user
            );
            create table if not exists meta.repeatable_state (
                singleton  boolean primary key default true check (singleton),
                sha256     text not null,
                file_count integer not null,
                applied_at timestamptz not null default now()
            );
        """)
        applied = dict(conn.execute("select version, sha256 from meta.schema_migrations").fetchall())
        by_version = {MIGRATION_RE.match(f.name).group(1): f for f in files}
        missing = sorted(set(applied) - set(by_version))
        if missing:
            raise MigrationError(f"database has migration(s) {missing} that are not in db/migrations")
        for version, path in by_version.items():
            text = path.read_text()
            digest = sha256(text)
            if version in applied:
                if applied[version] != digest:
                    raise MigrationError(
                        f"migration {path.name} was edited after it was applied (recorded sha256 "
                        f"{applied[version][:12]}…, file {digest[:12]}…). Migrations are forward-only: "
                        "restore the file and write a new migration.")
                report.already += 1
                continue
            enums = ENUM_DIRECTIVE.findall(text)
            if enums:
                # a new enum value cannot be used in the transaction that adds it: commit what is applied
                # so far (recorded, consistent), add the values on their own, and go on in a new transaction
                conn.commit()
                conn.autocommit = True
                for typ, value in enums:
                    conn.execute(f"alter type {typ} add value if not exists '{value}'")
                conn.autocommit = False
                conn.execute("set local client_min_messages = warning")
                conn.execute("select pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            _exec_file(conn, path, text)
            conn.execute("insert into meta.schema_migrations (version, filename, sha256) values (%s, %s, %s)",
                         (version, path.name, digest))
            report.applied.append(path.name)

        row = conn.execute("select sha256 from meta.repeatable_state").fetchone()
        if report.applied or not row or row[0] != rep_hash:
            for path in repeatables:
                _exec_file(conn, path, path.read_text())
            conn.execute("""insert into meta.repeatable_state (sha256, file_count) values (%s, %s)
                            on conflict (singleton) do update
                            set sha256 = excluded.sha256, file_count = excluded.file_count, applied_at = now()""",
                         (rep_hash, len(repeatables)))
            report.repeatables_applied = len(repeatables)
        conn.commit()
    return report


def status(conninfo: str, db_dir: Path = DB_DIR) -> tuple[int, int, str | None]:
    """(applied, pending, latest applied filename)."""
    files = migration_files(db_dir)
    with psycopg.connect(conninfo) as conn:
        exists = conn.execute("select to_regclass('meta.schema_migrations') is not null").fetchone()[0]
        rows = conn.execute("select filename from meta.schema_migrations order by version").fetchall() if exists else []
    applied = {r[0] for r in rows}
    return len(applied), len([f for f in files if f.name not in applied]), (rows[-1][0] if rows else None)
