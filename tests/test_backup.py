"""`milkbot db backup` / `restore`: a pg_dump of a database with trades, fills, signals and queued
messages, restored into a scratch database whose every table's row count matches the source's."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone

import psycopg
import pytest
from psycopg import sql

from conftest import DATABASE
from milkbot import backup as bk
from public_world import populate


@pytest.fixture
def scratch_name(db):
    name = f"{db.name}_restored"
    yield name
    with psycopg.connect(DATABASE.admin_conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def test_backup_restored_into_a_scratch_database_matches_row_counts(db, tmp_path, scratch_name):
    populate(db, trades=120)
    db.admin.execute("select pgmq.send('order_intents', '{\"test\": 1}'::jsonb)")
    source = bk.row_counts(db.admin)
    assert source["ops.fills"] >= 120 and source["ops.signals"] > 0 and sum(source.values()) > 300

    dump = bk.backup(DATABASE, tmp_path, dbname=db.name)
    assert dump.name.startswith(f"{db.name}-") and dump.suffix == ".dump" and dump.stat().st_size > 10_000
    assert not list(tmp_path.glob("*.partial"))
    recorded = json.loads(dump.with_name(dump.name + ".counts.json").read_text())
    assert recorded == source

    compared = bk.restore(DATABASE, dump, scratch_name)
    assert set(compared) == set(source) and all(a == b for a, b in compared.values())
    with psycopg.connect(DATABASE.admin_conninfo(scratch_name)) as restored:
        assert bk.row_counts(restored) == source                      # counted again, independently
        fills = "select * from ops.fills order by fill_id"
        assert restored.execute(fills).fetchall() == db.admin.execute(fills).fetchall()
        # roles and grants come back with the objects: the public role still sees only its views
        assert restored.execute("select has_table_privilege('web_anon', 'ops.fills', 'select')").fetchone()[0] is False
        assert restored.execute("select has_table_privilege('web_anon', 'api.trades', 'select')").fetchone()[0] is True

    # a restore into an existing database is refused, and never touches it
    with pytest.raises(bk.BackupError, match="exists"):
        bk.restore(DATABASE, dump, db.name)


def test_restore_reports_a_count_that_differs_and_leaves_nothing_behind(db, tmp_path, scratch_name):
    populate(db, trades=10)
    dump = bk.backup(DATABASE, tmp_path, dbname=db.name)
    counts_file = dump.with_name(dump.name + ".counts.json")
    counts = json.loads(counts_file.read_text())
    fills = counts["ops.fills"]
    counts["ops.fills"] = fills + 1                   # as if a row had been lost between dump and restore
    counts_file.write_text(json.dumps(counts))
    with pytest.raises(bk.BackupError, match=rf"ops\.fills {fills + 1}→{fills}$"):
        bk.restore(DATABASE, dump, scratch_name)
    with psycopg.connect(DATABASE.admin_conninfo("postgres")) as conn:
        assert conn.execute("select 1 from pg_database where datname = %s", (scratch_name,)).fetchone() is None
    # a truncated dump fails in pg_restore, with its message, and leaves no database either
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])
    with pytest.raises(bk.BackupError, match="pg_restore failed"):
        bk.restore(DATABASE, dump, scratch_name)
    with psycopg.connect(DATABASE.admin_conninfo("postgres")) as conn:
        assert conn.execute("select 1 from pg_database where datname = %s", (scratch_name,)).fetchone() is None


def test_prune_keeps_recent_dumps_and_always_the_newest(tmp_path, monkeypatch):
    for stamp in ("20261101T031700Z", "20261110T031700Z", "20261120T031700Z", "20261126T031700Z"):
        (tmp_path / f"milkbot-{stamp}.dump").write_bytes(b"x")
        (tmp_path / f"milkbot-{stamp}.dump.counts.json").write_text("{}")
    (tmp_path / "other-20261101T031700Z.dump").write_bytes(b"x")      # another database's: not ours to prune
    monkeypatch.setattr(bk.clock, "now", lambda: datetime(2026, 11, 27, 3, 17, tzinfo=timezone.utc))
    removed = bk.prune(tmp_path, "milkbot", keep_days=14)
    assert [p.name for p in removed] == ["milkbot-20261101T031700Z.dump", "milkbot-20261110T031700Z.dump"]
    assert sorted(p.name for p in tmp_path.glob("*.dump")) == [
        "milkbot-20261120T031700Z.dump", "milkbot-20261126T031700Z.dump", "other-20261101T031700Z.dump"]
    assert not (tmp_path / "milkbot-20261101T031700Z.dump.counts.json").exists()
    # with every dump old, the newest one still stays
    assert [p.name for p in bk.prune(tmp_path, "milkbot", keep_days=0)] == ["milkbot-20261120T031700Z.dump"]


def test_backup_and_restore_commands(db, tmp_path, scratch_name):
    populate(db, trades=3)
    env = {**os.environ, "MILKBOT_DB_NAME": db.name}
    out = subprocess.run([sys.executable, "-m", "milkbot.cli", "db", "backup", "--to", str(tmp_path), "--keep-days", "14"],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    dump = next(tmp_path.glob("*.dump"))
    assert out.stdout.startswith(f"backup: {dump} (")
    out = subprocess.run([sys.executable, "-m", "milkbot.cli", "db", "restore", str(dump), "--into", scratch_name],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 0 and "every table's count equal to the dump's" in out.stdout, out.stderr
    out = subprocess.run([sys.executable, "-m", "milkbot.cli", "db", "restore", str(tmp_path / "nope.dump"),
                          "--into", "x"], capture_output=True, text=True, env=env)
    assert out.returncode == 1 and "no such dump" in out.stderr
