"""`milkbot analytics`: dbt build of dbt_analytics/ as the milkbot_analytics role, then a heartbeat
and a PostgREST schema-cache reload (the api views dbt builds change the schema)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

from .config import PROJECT_ROOT, Settings
from .db import Database

DBT_DIR = PROJECT_ROOT / "dbt_analytics"


def dbt_env(db: Database, dbname: str | None = None) -> dict[str, str]:
    info = conninfo_to_dict(db.role_conninfo("milkbot_analytics", dbname))
    env = {k: v for k, v in os.environ.items()}
    env.update(MILKBOT_DBT_HOST=str(info.get("host", "127.0.0.1")), MILKBOT_DBT_PORT=str(info.get("port", 5432)),
               MILKBOT_DBT_USER=str(info["user"]), MILKBOT_DBT_PASSWORD=str(info.get("password", "")),
               MILKBOT_DBT_DBNAME=str(info["dbname"]), DO_NOT_TRACK="1", DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    if "-c role=" in info.get("options", ""):
        env["MILKBOT_DBT_ROLE"] = "milkbot_analytics"
    return env


def build(settings: Settings, dbname: str | None = None, *, quiet: bool = False) -> int:
    db = Database(settings)
    state = settings.state_dir / "dbt"
    dbt = str(Path(sys.executable).parent / "dbt")
    # the public sees the book this deployment trades (paper, demo or live), never a mix
    cmd = [dbt, "build", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
           "--target-path", str(state / "target"), "--log-path", str(state / "logs"),
           "--vars", json.dumps({"mode": settings.mode})]
    proc = subprocess.run(cmd, env=dbt_env(db, dbname), capture_output=quiet, text=True)
    ok = proc.returncode == 0
    with psycopg.connect(db.role_conninfo("milkbot_analytics", dbname), autocommit=True) as conn:
        conn.execute("select ops.heartbeat('analytics', %s, %s)", (ok, "dbt build ok" if ok else "dbt build failed"))
        conn.execute("notify pgrst, 'reload schema'")
    if quiet and not ok:
        print(proc.stdout[-4000:], proc.stderr[-2000:], file=sys.stderr)
    return proc.returncode


def run(settings: Settings, *, interval: float | None) -> int:
    """One build, or (with an interval) a build every `interval` seconds until asked to stop.

    The rollups are rebuilt on a fixed schedule, never in reaction to trading: a build (and its public
    heartbeat) that followed each fill would tell the public when we traded, whatever the delay on
    the data itself."""
    from .shutdown import StopRequest, say
    if interval is None:
        return build(settings)
    stop = StopRequest("analytics")
    while not stop.requested:
        code = build(settings, quiet=True)
        print(f"analytics: dbt build {'ok' if code == 0 else f'failed ({code})'}", flush=True)
        stop.wait(interval)
    say("analytics: stopped")
    return 0
