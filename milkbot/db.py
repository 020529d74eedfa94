"""Where to connect: the embedded cluster or MILKBOT_DATABASE_URL, as the admin or as one app role."""
from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from .cluster import ADMIN_ROLE, Cluster
from .config import Settings

APP_ROLES = ("milkbot_ingest", "milkbot_executor", "milkbot_analytics", "milkbot_operator")


class Database:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.cluster = Cluster(settings) if settings.embedded else None

    def admin_conninfo(self, dbname: str | None = None) -> str:
        """The owner connection used for migrations (superuser in the embedded cluster)."""
        if self.cluster:
            return make_conninfo(**self.cluster.conninfo(ADMIN_ROLE, dbname))
        info = conninfo_to_dict(self.settings.database_url)
        if dbname:
            info["dbname"] = dbname
        return make_conninfo(**info)

    def role_conninfo(self, role: str, dbname: str | None = None) -> str:
        """A connection that acts as one app role.

        Embedded: log in as the role over the private socket. External: MILKBOT_<ROLE>_DATABASE_URL if set
        (e.g. MILKBOT_OPERATOR_DATABASE_URL), else the main URL with `role` set at connect time, which needs
        the main user to be a member of that role (README, "Managed Postgres").
        """
        if self.cluster:
            return make_conninfo(**self.cluster.conninfo(role, dbname))
        short = role.removeprefix("milkbot_").upper()
        own = self.settings.extra.get(f"MILKBOT_{short}_DATABASE_URL")
        if own:
            info = conninfo_to_dict(own)
        else:
            info = conninfo_to_dict(self.settings.database_url)
            info["options"] = (info.get("options", "") + f" -c role={role}").strip()
        if dbname:
            info["dbname"] = dbname
        return make_conninfo(**info)

    def role_url(self, role: str) -> str:
        if self.cluster:
            return self.cluster.url(role)
        return self.role_conninfo(role)

    def connect(self, role: str | None = None, **kw) -> psycopg.Connection:
        dsn = self.role_conninfo(role) if role else self.admin_conninfo()
        return psycopg.connect(dsn, **kw)

    def ensure_database(self) -> bool:
        """Create the app database if missing (embedded only; a managed DB is created by its owner)."""
        if not self.cluster:
            return False
        return self.create_database()

    def create_database(self) -> bool:
        """Create MILKBOT_DB_NAME if missing, as the admin connected to the `postgres` database (the
        systemd cluster, which Milkbot owns, is reached by URL like a managed one)."""
        name = self.settings.db_name
        with psycopg.connect(self.admin_conninfo("postgres"), autocommit=True) as conn:
            if conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
                return False
            conn.execute(psycopg.sql.SQL("create database {}").format(psycopg.sql.Identifier(name)))
            return True
