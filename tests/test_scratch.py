"""The scratch databases of the backtest and the priced replay: copies of a migrated template, made once
per `db/` (milkbot.scratch)."""
from __future__ import annotations

import shutil
import threading

import psycopg

from conftest import DATABASE
from milkbot import scratch
from milkbot.migrate import DB_DIR, migration_files


# a prefix of the test's own: the project's templates (which other tests copy) are never touched here
PREFIX = "mbtest_scratch_tpl_"


def _databases(prefix: str) -> dict[str, tuple[bool, bool]]:
    with psycopg.connect(DATABASE.admin_conninfo("postgres")) as admin:
        return {r[0]: (r[1], r[2]) for r in admin.execute(
            "select datname, datallowconn, datistemplate from pg_database where datname like %s", (prefix + "%",))}


def test_a_template_per_db_folder_made_once_and_the_stale_one_dropped(tmp_path):
    db_dir = tmp_path / "db"
    shutil.copytree(DB_DIR, db_dir)
    view = next((db_dir / "functions" / "ops").glob("*.sql"))
    view.write_text(view.read_text() + f"\n-- {tmp_path.name}\n")   # a db/ of its own: no template yet
    # two processes' worth of first runs at once: one template, made once
    names: list[str] = []
    threads = [threading.Thread(target=lambda: names.append(scratch.template(DATABASE, db_dir, PREFIX))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(names) == 2 and names[0] == names[1]
    first = names[0]
    assert _databases(first) == {first: (False, True)}, "a template takes no connections"
    assert not _databases(first + "_building")

    # what a copy holds: every migration, applied
    copy = "mbtest_scratch_copy"
    with psycopg.connect(DATABASE.admin_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'drop database if exists "{copy}"')
        admin.execute(f'create database "{copy}" template "{first}"')
    try:
        with psycopg.connect(DATABASE.admin_conninfo(copy)) as conn:
            assert conn.execute("select count(*) from meta.schema_migrations").fetchone()[0] == len(migration_files(db_dir))
    finally:
        with psycopg.connect(DATABASE.admin_conninfo("postgres"), autocommit=True) as admin:
            admin.execute(f'drop database if exists "{copy}"')

    # a definition changed: a new template, and the old one is gone
    view.write_text(view.read_text() + "-- changed\n")
    second = scratch.template(DATABASE, db_dir, PREFIX)
    assert second != first
    assert first not in _databases(PREFIX) and second in _databases(PREFIX)
    with psycopg.connect(DATABASE.admin_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'alter database "{second}" is_template false')
        admin.execute(f'drop database "{second}"')


def test_scratch_is_a_migrated_copy_dropped_on_exit():
    with scratch.Scratch(DATABASE, "mbtest_scratch_run") as conninfo:
        with psycopg.connect(conninfo) as conn:
            assert conn.execute("select to_regprocedure('ops.run_cycle(timestamptz, text[])') is not null").fetchone()[0]
        assert _databases("mbtest_scratch_run") == {"mbtest_scratch_run": (True, False)}
    assert not _databases("mbtest_scratch_run")
