"""`milkbot db …` end to end: an embedded cluster of its own (as root, the server runs as an
unprivileged user), and a managed-style server where the app user is not a superuser."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest

from conftest import DATABASE
from fakes.ports import free_ports

MILKBOT = [str(Path(sys.executable).parent / "milkbot")]




def run(args, env, check=True):
    proc = subprocess.run(MILKBOT + args, env=env, capture_output=True, text=True, timeout=180)
    if check and proc.returncode != 0:
        raise AssertionError(f"milkbot {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def own_cluster_env():
    state = Path(tempfile.mkdtemp(prefix="mbcluster-", dir="/var/tmp"))
    os.chmod(state, 0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILKBOT_")}
    env.update(MILKBOT_STATE_DIR=str(state), MILKBOT_PG_PORT=str(free_ports()[0]), MILKBOT_ENV_FILE="/nonexistent")
    yield env
    run(["db", "down"], env, check=False)
    shutil.rmtree(state, ignore_errors=True)


def test_embedded_cluster_lifecycle(own_cluster_env):
    env = own_cluster_env
    up = run(["db", "up"], env)
    every = sorted(p.name for p in (Path(__file__).resolve().parents[1] / "db" / "migrations").glob("*.sql"))
    assert f"applied {len(every)} migration(s): {', '.join(every)}" in up.stdout, up.stdout
    assert ": up, embedded cluster" in up.stdout and "0 pending" in up.stdout
    # a second up is idempotent
    assert "up to date" in run(["db", "up"], env).stdout
    # the server never runs as root
    pid = int((Path(env["MILKBOT_STATE_DIR"]) / "pgdata" / "postmaster.pid").read_text().split()[0])
    assert os.stat(f"/proc/{pid}").st_uid != 0 or os.geteuid() != 0
    # UTC, and TCP only on loopback
    url = run(["db", "url"], env).stdout.strip()
    assert url.startswith("postgresql://milkbot_operator@/milkbot?host=")
    with psycopg.connect(url) as conn:
        assert conn.execute("show timezone").fetchone()[0] == "UTC"
        assert conn.execute("show listen_addresses").fetchone()[0] == "127.0.0.1"
        assert conn.execute("select current_user").fetchone()[0] == "milkbot_operator"
    # the operator's psql lists the four schemas
    dn = run(["db", "psql", "-c", r"\dn"], env).stdout
    for schema in ("ops", "analytics", "api", "pgmq"):
        assert f" {schema} " in dn
    run(["db", "down"], env)
    status = run(["db", "status"], env, check=False)
    assert status.returncode == 1 and "down" in status.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="the unreachable-folder fallback only applies when invoked as root")
def test_checkout_the_server_user_cannot_reach_falls_back_to_var_tmp():
    """A checkout under a 0700 folder (e.g. `mktemp -d`, as root): the cluster lives under /var/tmp."""
    private = Path(tempfile.mkdtemp(prefix="mbprivate-"))          # 0700, root's
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILKBOT_")}
    env.update(MILKBOT_STATE_DIR=str(private / "checkout" / ".milkbot"), MILKBOT_PG_PORT=str(free_ports()[0]),
               MILKBOT_ENV_FILE="/nonexistent")
    try:
        out = run(["db", "up"], env).stdout
        assert "embedded cluster /var/tmp/milkbot-" in out and "0 pending" in out
    finally:
        status = run(["db", "status"], env, check=False).stdout
        run(["db", "down"], env, check=False)
        shutil.rmtree(private, ignore_errors=True)
        fallback = status.split("embedded cluster ")[1].split("/pgdata")[0] if "embedded cluster " in status else None
        if fallback and fallback.startswith("/var/tmp/milkbot-"):
            shutil.rmtree(fallback, ignore_errors=True)


def test_managed_server_with_non_superuser_app(db):
    """MILKBOT_DATABASE_URL: migrations run as an app user with CREATEROLE but no superuser."""
    app = f"mb_app_{uuid.uuid4().hex[:8]}"
    dbname = f"mb_managed_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(DATABASE.admin_conninfo("postgres"), autocommit=True)
    # the one-time superuser steps documented in the README
    admin.execute(f"create role {app} login createrole")
    admin.execute(f"create database {dbname} owner {app}")
    try:
        url = psycopg.conninfo.make_conninfo(DATABASE.admin_conninfo(dbname), user=app)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MILKBOT_")}
        env.update(MILKBOT_DATABASE_URL=url, MILKBOT_ENV_FILE="/nonexistent")
        out = run(["db", "up"], env).stdout
        every = sorted(p.name for p in (Path(__file__).resolve().parents[1] / "db" / "migrations").glob("*.sql"))
        assert f"applied {len(every)} migration(s): {', '.join(every)}" in out and f"{len(every)} migrations applied" in out, out
        assert "0 pending" in out
        assert "up to date" in run(["db", "migrate"], env).stdout
        with psycopg.connect(url) as conn:
            assert conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()[0] is False
            assert conn.execute("select count(*) from ops.cities").fetchone()[0] == 10
        assert "not Milkbot's to stop" in run(["db", "down"], env).stdout
    finally:
        admin.execute(f"drop database if exists {dbname} with (force)")
        admin.execute(f"drop owned by {app}")
        admin.execute(f"drop role {app}")
        admin.close()
