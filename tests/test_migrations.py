"""The migrator: forward-only, recorded, idempotent, atomic."""
from __future__ import annotations

import shutil
import threading

import psycopg
import pytest

from fakes.waiting import wait_for
from milkbot.migrate import DB_DIR, LOCK_KEY, MigrationError, migrate


@pytest.fixture
def db_copy(tmp_path):
    """A scratch copy of db/ to break in ways the real one must never be."""
    target = tmp_path / "db"
    shutil.copytree(DB_DIR, target)
    return target


def counts(conn):
    return conn.execute("""select (select count(*) from meta.schema_migrations),
                                  (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
                                    where n.nspname = 'ops')""").fetchone()


def test_second_migrate_is_a_noop(db):
    report = migrate(db.conninfo())
    assert not report.changed and report.already == len(list((DB_DIR / "migrations").glob("*.sql")))
    assert "up to date" in report.summary()


def test_edited_applied_migration_is_refused(db, db_copy):
    first = sorted((db_copy / "migrations").glob("*.sql"))[1]
    first.write_text(first.read_text() + "\n-- an innocent-looking edit\n")
    with pytest.raises(MigrationError, match=f"{first.name} was edited after it was applied"):
        migrate(db.conninfo(), db_copy)


def test_missing_applied_migration_is_refused(db, db_copy):
    sorted((db_copy / "migrations").glob("*.sql"))[-1].unlink()
    with pytest.raises(MigrationError, match="not in db/migrations"):
        migrate(db.conninfo(), db_copy)


def test_failing_migration_leaves_database_as_it_was(db, db_copy):
    before = counts(db.admin)
    (db_copy / "migrations" / "9998_good.sql").write_text("create table ops.half_done (id int);")
    (db_copy / "migrations" / "9999_bad.sql").write_text(
        "create table ops.also_half_done (id int);\nselect 1/0;\n")
    with pytest.raises(MigrationError, match=r"9999_bad\.sql.*division by zero"):
        migrate(db.conninfo(), db_copy)
    assert counts(db.admin) == before
    assert db.admin.execute("select to_regclass('ops.half_done')").fetchone()[0] is None


def test_new_migration_applies_once_and_definitions_reapply(db, db_copy):
    (db_copy / "migrations" / "9000_extra.sql").write_text(
        "create table ops.extra (id int primary key);\ncomment on table ops.extra is 'test';\n")
    report = migrate(db.conninfo(), db_copy)
    assert report.applied == ["9000_extra.sql"] and report.repeatables_applied > 0
    assert not migrate(db.conninfo(), db_copy).changed
    # a changed definition file is re-applied without any migration
    fn = db_copy / "functions" / "ops" / "zz_probe.sql"
    fn.write_text("create or replace function ops.probe() returns int language sql return 7;")
    (db_copy / "load_order").write_text((db_copy / "load_order").read_text())
    report = migrate(db.conninfo(), db_copy)
    assert report.applied == [] and report.repeatables_applied > 0
    assert db.admin.execute("select ops.probe()").fetchone()[0] == 7


def test_concurrent_migrators_serialise(db, db_copy):
    """Two migrators started while a third holds the lock both wait (seen in pg_locks, not slept on);
    once it is released the new migration is applied exactly once and neither migrator fails."""
    (db_copy / "migrations" / "9000_extra.sql").write_text("create table ops.extra (id int primary key);\n"
                                                           "comment on table ops.extra is 'test';\n")
    waiting = """select count(*) from pg_locks l join pg_stat_activity a on a.pid = l.pid
                  where l.locktype = 'advisory' and not l.granted and l.objid = %s and a.datname = %s"""
    results: list = []
    with psycopg.connect(db.conninfo()) as holder:
        holder.execute("select pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        threads = [threading.Thread(target=lambda: results.append(migrate(db.conninfo(), db_copy))) for _ in range(2)]
        for t in threads:
            t.start()
        wait_for(lambda: db.admin.execute(waiting, (LOCK_KEY & 0xFFFFFFFF, db.name)).fetchone()[0] == 2,
                 "both migrators waiting on the lock", gone=lambda: not all(t.is_alive() for t in threads)
                 and "a migrator finished instead of waiting on the lock")
        assert db.admin.execute("select to_regclass('ops.extra')").fetchone()[0] is None
    for t in threads:                                 # the holder's transaction ended: both go on, one by one
        t.join(60)
    assert sorted(r.applied for r in results) == [[], ["9000_extra.sql"]], results
    assert db.admin.execute("select count(*) from meta.schema_migrations where version = '9000'").fetchone()[0] == 1


def test_order_queue_round_trip(db):
    conn = db.connect("milkbot_executor")
    db.admin.execute("select pgmq.send('order_intents', '{\"order_id\": 1}'::jsonb)")
    msg = conn.execute("select msg_id, message from pgmq.read('order_intents', 30, 1)").fetchone()
    assert msg[1] == {"order_id": 1}
    assert conn.execute("select pgmq.archive('order_intents', %s)", (msg[0],)).fetchone()[0] is True
