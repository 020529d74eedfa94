"""Test harness: every test gets a fresh, fully migrated database cloned from a template.

The template is built once per session by pytest-postgresql's janitor (load = our migrator) on the
project's own cluster (`milkbot db up`, which `make test` runs first; MILKBOT_DATABASE_URL points the
suite at another server). Cloning a template takes a fraction of a second; migrating would take seconds.
"""
from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pytest_postgresql import factories

from milkbot import config
from milkbot.db import Database
from milkbot.migrate import migrate

SETTINGS = config.load()
DATABASE = Database(SETTINGS)
ADMIN = conninfo_to_dict(DATABASE.admin_conninfo())
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TEST_DB = f"mbtest_{os.getpid()}"


def load_schema(host, port, user, dbname, password=None, **_):
    migrate(make_conninfo(host=host, port=port, user=user, dbname=dbname, password=password or None))


pg_server = factories.postgresql_noproc(
    host=ADMIN.get("host"), port=ADMIN.get("port"), user=ADMIN.get("user"),
    password=ADMIN.get("password"), dbname=TEST_DB, load=[load_schema],
)
pg_admin = factories.postgresql("pg_server")


class TestDB:
    """Handles for one test database: admin connection plus connections as each app role."""

    def __init__(self, admin_conn: psycopg.Connection):
        self.admin = admin_conn
        self.admin.autocommit = True
        self.name = admin_conn.info.dbname
        self._opened: list[psycopg.Connection] = []

    def conninfo(self, role: str | None = None) -> str:
        if role is None:
            return DATABASE.admin_conninfo(self.name)
        return DATABASE.role_conninfo(role, self.name)

    def connect(self, role: str | None = None, autocommit: bool = True) -> psycopg.Connection:
        conn = psycopg.connect(self.conninfo(role), autocommit=autocommit)
        self._opened.append(conn)
        return conn

    def close(self):
        for c in self._opened:
            c.close()


@pytest.fixture
def db(pg_admin):
    handle = TestDB(pg_admin)
    yield handle
    handle.close()


@pytest.fixture(scope="session")
def world_template(pg_server):
    """The fake exchange's world (markets, books, weather) ingested once per session by one REST pass
    without a cycle, into a database kept as a template. Tests that start from the fake world clone it
    (`world_db`) instead of each running the same ~1.6 s pass (the fakes' world is deterministic)."""
    from fakes.harness import NOW, Fakes
    from workers.ingest.main import Ingest
    name = f"mbtest_world_{os.getpid()}"
    with psycopg.connect(DATABASE.admin_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.execute(f'create database "{name}" template "{pg_server.template_dbname}"')
    fakes = Fakes()
    try:
        n, k = fakes.clients()
        with psycopg.connect(DATABASE.role_conninfo("milkbot_ingest", name), autocommit=False) as conn:
            Ingest(fakes.settings, conn, n, k, now=lambda: NOW).run_once(cycle=False)
        n.close(), k.close()
    finally:
        fakes.stop()
    yield name
    with psycopg.connect(DATABASE.admin_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def world_db(world_template):
    """A fresh database holding the fake world as one ingest pass left it (a clone of world_template)."""
    import uuid
    name = f"mbtest_w{uuid.uuid4().hex[:12]}"
    with psycopg.connect(DATABASE.admin_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'create database "{name}" template "{world_template}"')
    conn = psycopg.connect(DATABASE.admin_conninfo(name), autocommit=True)
    handle = TestDB(conn)
    yield handle
    handle.close()
    conn.close()
    with psycopg.connect(DATABASE.admin_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent")
    return SHARED_DATA


@pytest.fixture
def fakes():
    from fakes.harness import Fakes
    f = Fakes()
    yield f
    f.stop()


@pytest.fixture
def api(db):
    """PostgREST and the localhost nginx for this test's database, on two free ports (state in /var/tmp,
    reachable by the unprivileged server user under root)."""
    import shutil
    import tempfile
    from fakes.ports import free_ports
    from milkbot.api import start
    state = Path(tempfile.mkdtemp(prefix="mbapi-", dir="/var/tmp"))
    os.chmod(state, 0o755)
    ports = free_ports(2)
    try:
        procs = start(SETTINGS, dbname=db.name, postgrest_port=ports[0], api_port=ports[1], state=state)
    except BaseException:                 # a start that fails leaves no folder behind (it stops its own processes)
        shutil.rmtree(state, ignore_errors=True)
        raise
    procs.state = state
    yield procs
    procs.stop()
    shutil.rmtree(state, ignore_errors=True)
