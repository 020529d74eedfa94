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
