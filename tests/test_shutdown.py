"""Stopping quietly: Ctrl-C on `milkbot up` ends every component with one line and exit 0 (no
traceback); `milkbot api` on SIGTERM stops PostgREST and nginx; a start-up that fails half-way leaves
nothing on the ports; under root the API's servers run as the unprivileged server user."""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from conftest import SETTINGS
from fakes.ports import free_ports
from fakes.waiting import wait_for
from milkbot.api import start

MILKBOT = str(Path(sys.executable).parent / "milkbot")


def env_for(db, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILKBOT_")}
    env.update(MILKBOT_ENV_FILE="/nonexistent", MILKBOT_DB_NAME=db.name, **extra)
    for k in ("MILKBOT_PG_PORT", "MILKBOT_STATE_DIR", "MILKBOT_DATABASE_URL"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env


def descendants(pid: int) -> dict[int, tuple[str, int]]:
    """pid -> (command name, real uid) for every live process below `pid`."""
    parent, info = {}, {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = dict(l.split(":\t", 1) for l in (d / "status").read_text().splitlines() if ":\t" in l)
        except OSError:
            continue
        if fields.get("State", "").startswith("Z"):
            continue
        parent[int(d.name)] = int(fields["PPid"])
        info[int(d.name)] = (fields["Name"].strip(), int(fields["Uid"].split()[0]))
    out, frontier = {}, {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier and p not in out}
        out.update({p: info[p] for p in frontier})
    return out


def alive(pid: int) -> bool:
    try:
        return not Path(f"/proc/{pid}/status").read_text().split("State:\t")[1].startswith("Z")
    except OSError:
        return False


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def exited(proc: subprocess.Popen):
    return lambda: proc.poll() is not None and f"process exited ({proc.returncode}): {proc.stdout.read()}"


def api_answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_api_stops_postgrest_and_nginx_on_sigterm_and_runs_them_unprivileged(db):
    pport, aport = free_ports(2)
    proc = subprocess.Popen([MILKBOT, "api"], env=env_for(db, MILKBOT_POSTGREST_PORT=str(pport), MILKBOT_API_PORT=str(aport)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: api_answers(f"http://127.0.0.1:{aport}/v1/health"), "the API", gone=exited(proc))
    servers = descendants(proc.pid)
    names = sorted({n for n, _ in servers.values()})
    assert "postgrest" in names and "nginx" in names, servers
    expected_uid = pwd.getpwnam(SETTINGS.pg_os_user).pw_uid if os.geteuid() == 0 else os.geteuid()
    assert {uid for _, uid in servers.values()} == {expected_uid}, servers     # never root
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "Traceback" not in out and out.strip().splitlines()[-1] == "api: stopped (PostgREST and nginx)", out
    assert not listening(pport) and not listening(aport)
    assert not [p for p in servers if alive(p)], servers


def test_a_start_that_fails_half_way_leaves_nothing_running(db):
    pport, aport = free_ports(2)
    state = Path(tempfile.mkdtemp(prefix="mbapi-", dir="/var/tmp"))
    os.chmod(state, 0o755)
    try:
        with socket.socket() as taken:                    # nginx's port is already in use
            taken.bind(("127.0.0.1", aport))
            taken.listen()
            before = set(descendants(os.getpid()))
            with pytest.raises(RuntimeError, match="nginx exited"):
                start(SETTINGS, dbname=db.name, postgrest_port=pport, api_port=aport, state=state)
            assert not listening(pport)                   # PostgREST, started first, was stopped again
            assert set(descendants(os.getpid())) - before == set()
    finally:
        shutil.rmtree(state, ignore_errors=True)          # no mbapi-* folder outlives the test


def test_ctrl_c_on_milkbot_up_stops_every_component_quietly(db):
    """Waits for events, not for times: the API answers at once (it no longer waits for the sim's
    warm-up), then an ingest pass and an executor loop have each beaten once. The bounds on those waits
    are generous failure bounds for a loaded machine, not expectations of speed."""
    pport, aport, dport = free_ports(3)
    env = env_for(db, MILKBOT_POSTGREST_PORT=str(pport), MILKBOT_API_PORT=str(aport), MILKBOT_DASHBOARD_PORT=str(dport),
                  MILKBOT_INGEST_INTERVAL="3600", MILKBOT_HTTP_TIMEOUT="2", MILKBOT_HTTP_ATTEMPTS="1",
                  MILKBOT_SIM_NO_WARMUP="1")      # the warm-up's own stop is the next test
    proc = subprocess.Popen([MILKBOT, "up", "--sim"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)     # its own process group, as in a terminal
    try:
        wait_for(lambda: api_answers(f"http://127.0.0.1:{aport}/v1/health"), "the API", gone=exited(proc), timeout=120)
        heartbeats = "select count(*) from ops.health_status where component in ('executor', 'cycle') and isfinite(last_heartbeat)"
        wait_for(lambda: db.admin.execute(heartbeats).fetchone()[0] == 2, "an ingest pass and an executor loop",
                 gone=exited(proc), timeout=300)
        tree = descendants(proc.pid)
        assert {"postgrest", "nginx"} <= {n for n, _ in tree.values()}, tree
        os.killpg(proc.pid, signal.SIGINT)                # what Ctrl-C does
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:                           # a failure above: nothing it started may outlive the test
            tree = descendants(proc.pid)
            os.killpg(proc.pid, signal.SIGKILL)
            for pid in tree:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            proc.wait()
    assert proc.returncode == 0, out
    assert "Traceback" not in out, out
    lines = out.splitlines()
    for line in ("ingest: stopped", "executor: stopped", "analytics: stopped", "api: stopped (PostgREST and nginx)",
                 "milkbot up: stopped"):
        assert lines.count(line) == 1, (line, out)
    assert not listening(pport) and not listening(aport)
    assert not [p for p in tree if alive(p)], tree    # no worker, server or dbt run outlives it


def test_the_api_serves_during_the_sim_warm_up_and_ctrl_c_stops_it(db):
    """`milkbot up --sim` serves the API (and the dashboard) at once, while its warm-up pass runs; Ctrl-C in
    the middle of the warm-up stops it and everything else, quietly."""
    pport, aport, dport = free_ports(3)
    env = env_for(db, MILKBOT_POSTGREST_PORT=str(pport), MILKBOT_API_PORT=str(aport), MILKBOT_DASHBOARD_PORT=str(dport),
                  MILKBOT_INGEST_INTERVAL="3600", MILKBOT_HTTP_TIMEOUT="2", MILKBOT_HTTP_ATTEMPTS="1",
                  MILKBOT_SIM_RATE="1")           # (the warm-up runs only on a real-time sim clock)
    proc = subprocess.Popen([MILKBOT, "up", "--sim"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        wait_for(lambda: api_answers(f"http://127.0.0.1:{aport}/v1/health"), "the API", gone=exited(proc), timeout=120)
        warming = db.admin.execute("select count(*) from ops.health_status where component = 'executor'").fetchone()[0] == 0
        tree = descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            tree = descendants(proc.pid)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0 and "Traceback" not in out, out
    assert out.splitlines()[-1] == "milkbot up: stopped", out
    if warming:   # (on a fast machine the warm-up may already be over: then this is the ordinary stop)
        assert "sim: warm-up done" not in out, out
    assert not listening(pport) and not listening(aport) and not listening(dport)
    assert not [p for p in tree if alive(p)], tree


def test_ctrl_c_at_the_terminal_ends_make_run_with_exit_0(db, tmp_path):
    """`make run` execs `milkbot up` under make; Ctrl-C typed at a terminal (a real pty here) must end
    make with 0, not 130 (GNU make re-raises a SIGINT it receives itself)."""
    import pty
    import select
    pport, aport, dport = free_ports(3)
    env = env_for(db, MILKBOT_POSTGREST_PORT=str(pport), MILKBOT_API_PORT=str(aport), MILKBOT_DASHBOARD_PORT=str(dport),
                  MILKBOT_INGEST_INTERVAL="3600", MILKBOT_HTTP_TIMEOUT="2", MILKBOT_HTTP_ATTEMPTS="1", MILKBOT_SIM_NO_WARMUP="1")
    (tmp_path / "Makefile").write_text(f"run:\n\t@exec {MILKBOT} up --sim\n")     # the shape of the real `run` recipe
    pid, fd = pty.fork()
    if pid == 0:                                      # the child: make, on the pty as its terminal
        os.chdir(tmp_path)
        os.execvpe("make", ["make", "-s", "run"], env)
    out = b""
    try:
        wait_for(lambda: api_answers(f"http://127.0.0.1:{aport}/v1/health"), "the API under make", timeout=120)
        os.write(fd, b"\x03")                         # Ctrl-C, typed
        while True:
            ready, _, _ = select.select([fd], [], [], 90)
            if not ready:
                break
            try:
                chunk = os.read(fd, 4096)
            except OSError:                           # the pty closed: everything on it has exited
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        os.close(fd)
    text = out.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "milkbot up: stopped" in text and "Traceback" not in text, text
    assert not listening(pport) and not listening(aport) and not listening(dport)
