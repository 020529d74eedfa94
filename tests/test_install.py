"""`milkbot install`: the systemd units, users, firewall and configs for a server, checked with the real
tools — systemd-analyze (verify, and the offline security score), nft, nginx -t — and run where this
machine allows without systemd as PID 1: the database unit's own commands as its own user with peer
authentication, PostgREST on the rendered config as its user, and the firewall in a network namespace
with real connections from allowed and refused addresses."""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import psycopg
import pytest

from conftest import SETTINGS
from fakes.ports import free_ports
from fakes.waiting import wait_for
from milkbot import install
from milkbot.api import POSTGREST
from milkbot.cluster import find_pg_bin
from milkbot.migrate import migrate

SSH = ["203.0.113.0/24", "2001:db8:ee::/48"]
PG_BIN = find_pg_bin()


def render(root: Path, **over) -> Path:
    cfg = install.InstallConfig.from_settings(SETTINGS, SSH, **over)
    install.write(install.files(cfg), root)
    return root


def unit(path: Path) -> dict[str, list[str]]:
    """Key -> values of a unit file (keys may repeat: ExecReload, LoadCredential)."""
    keys: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            k, v = line.split("=", 1)
            keys.setdefault(k, []).append(v)
    return keys


def verify(folder: Path, *names: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SYSTEMD_UNIT_PATH": f"{folder}:"}     # the units find each other (milkbot.target)
    return subprocess.run(["systemd-analyze", "verify", "--man=no", *[str(folder / n) for n in names]],
                          env=env, capture_output=True, text=True)


@pytest.fixture
def server_root():
    """A folder standing in for the server's /: under /var/tmp, so the service users can reach it."""
    root = Path(tempfile.mkdtemp(prefix="mbinst-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("variant", [dict(), dict(mode="demo", origin_pull=True), dict(mode="live", external_db=True)],
                         ids=["paper", "demo+origin-pull", "live+managed-db"])
def test_units_pass_systemd_analyze_verify(tmp_path, variant):
    units = render(tmp_path, **variant) / "etc/systemd/system"
    names = sorted(p.name for p in units.iterdir())
    assert "milkbot.target" in names and ("milkbot-postgres.service" in names) != bool(variant.get("external_db"))
    proc = verify(units, *names)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr   # verify warns on stderr with rc 0
    # the check can fail: an unknown key, or a command that is not there, is reported
    bad = units / "milkbot-ingest.service"
    bad.write_text(bad.read_text().replace("RestartSec=5s", "RestartSec=5s\nRestartSteps=3")
                   .replace(".venv/bin/milkbot ingest", ".venv/bin/no-such-milkbot ingest"))
    proc = verify(units, "milkbot-ingest.service")
    assert "Unknown key 'RestartSteps'" in proc.stderr and "no-such-milkbot" in proc.stderr


def test_each_service_is_its_own_unprivileged_sandboxed_user(tmp_path):
    units = render(tmp_path, mode="demo") / "etc/systemd/system"
    users = {}
    for path in sorted(units.glob("*.service")):
        u = unit(path)
        name = path.stem.removeprefix("milkbot-")
        assert u["User"][0].startswith("milkbot-") and u["User"] == u["Group"], name
        users[name] = u["User"][0]
        for key, value in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                           ("PrivateTmp", "yes"), ("RestrictNamespaces", "yes"), ("SystemCallFilter", "@system-service")]:
            assert u.get(key) == [value], (name, key)
        assert u["RestrictAddressFamilies"][0].startswith("AF_UNIX"), name
        assert u["CapabilityBoundingSet"][-1] == ("CAP_NET_BIND_SERVICE" if name == "nginx" else ""), name
        if u["Type"][0] != "oneshot":
            assert u["Restart"] == ["on-failure"] and u["RestartSec"] == ["5s"], name
            assert "StartLimitBurst=5" in path.read_text(), name      # a crash loop stops and stays visible
        # the Kalshi key reaches the executor's zone alone (the executor, and the market feed whose
        # connection it signs, under the same user), as a systemd credential; nobody reads the original
        creds = [c for c in u.get("LoadCredential", []) if c.startswith("kalshi-key:")]
        assert bool(creds) == (name in ("executor", "feed")), name
        assert u["InaccessiblePaths"] == ["-/etc/milkbot/credentials"], name
        score = subprocess.run(["systemd-analyze", "security", "--offline=true", str(path)],
                               env={**os.environ, "SYSTEMD_UNIT_PATH": f"{units}:"}, capture_output=True, text=True)
        exposure = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", score.stdout + score.stderr).group(1))
        assert exposure <= 2.5, (name, exposure)
    long_running = {k: v for k, v in users.items() if k not in ("migrate", "backup", "feed")}
    assert len(set(long_running.values())) == len(long_running), long_running   # one user per service
    assert users["feed"] == users["executor"]                  # one zone: the key's holder, reading and sending
    assert users["migrate"] == users["backup"] == users["postgres"] == "milkbot-db"
    paper = render(tmp_path / "paper") / "etc/systemd/system"
    assert "LoadCredential=kalshi" not in (paper / "milkbot-executor.service").read_text()
    # only the services that need the database may open its socket
    sysusers = (tmp_path / "etc/sysusers.d/milkbot.conf").read_text()
    members = set(re.findall(r"^m (\S+)\s+milkbot-db-clients$", sysusers, re.M))
    assert members == {"milkbot-db", "milkbot-ingest", "milkbot-exec", "milkbot-analytics", "milkbot-api"}


def test_install_refuses_without_an_ssh_range_and_names_bad_input(tmp_path):
    with pytest.raises(install.InstallError, match="--ssh-from"):
        install.files(install.InstallConfig.from_settings(SETTINGS, []))
    with pytest.raises(install.InstallError, match="not a network: '10.0.0.300/8'"):
        install.files(install.InstallConfig.from_settings(SETTINGS, ["10.0.0.300/8"]))
    out = subprocess.run([sys.executable, "-m", "milkbot.cli", "install", "--print"], capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k != "MILKBOT_OPERATOR_SSH_FROM"})
    assert out.returncode == 2 and "--ssh-from CIDR is required" in out.stderr
    out = subprocess.run([sys.executable, "-m", "milkbot.cli", "install", "--print", "--ssh-from", "198.51.100.0/24"],
                         capture_output=True, text=True)
    assert out.returncode == 0
    printed = re.findall(r"^# ==> (\S+) \((\d{4})\) <==$", out.stdout, re.M)
    assert ("/etc/milkbot/nginx.conf", "0644") in printed and ("/etc/milkbot/postgrest.conf", "0640") in printed
    units = {f"/etc/systemd/system/milkbot-{n}.service" for n in
             ("postgres", "migrate", "ingest", "executor", "feed", "analytics", "postgrest", "dashboard", "nginx", "backup")}
    etc = {f"/etc/milkbot/{n}" for n in ("milkbot.env", "executor.env", "pg_hba.conf", "pg_ident.conf",
                                          "postgrest.conf", "nginx.conf", "milkbot.nft")}
    assert {p for p, _ in printed} == units | etc | {"/etc/systemd/system/milkbot-backup.timer",
                                                     "/etc/systemd/system/milkbot.target", "/etc/sysusers.d/milkbot.conf"}


def test_reinstall_keeps_what_the_operator_edited(tmp_path):
    render(tmp_path)
    env = tmp_path / "etc/milkbot/executor.env"
    env.write_text("MILKBOT_KALSHI_KEY_ID=abc\n")
    (tmp_path / "etc/milkbot/milkbot.env").write_text("stale\n")
    render(tmp_path, mode="demo")
    assert env.read_text() == "MILKBOT_KALSHI_KEY_ID=abc\n" and oct(env.stat().st_mode & 0o777) == "0o640"
    assert "MILKBOT_MODE=demo" in (tmp_path / "etc/milkbot/milkbot.env").read_text()   # rendered files are replaced


def test_firewall_rules_pass_nft_check(tmp_path):
    nft = render(tmp_path) / "etc/milkbot/milkbot.nft"
    proc = subprocess.run(["nft", "-c", "-f", str(nft)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    broken = tmp_path / "broken.nft"
    broken.write_text(nft.read_text().replace("tcp dport { 80, 443 } accept", "tcp dport { 80, 443 } acept", 1))
    assert subprocess.run(["nft", "-c", "-f", str(broken)], capture_output=True).returncode != 0


def _ip(*args: str) -> None:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True)
    assert proc.returncode == 0, f"ip {' '.join(args)}: {proc.stderr}"


LISTEN = """
import socket, sys, threading
ports = [int(p) for p in sys.argv[1:]]
socks = []
for family, host in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    for port in ports:
        s = socket.socket(family)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port)); s.listen(16); socks.append(s)
def serve(s):
    while True:
        c, _ = s.accept(); c.close()
for s in socks:
    threading.Thread(target=serve, args=(s,), daemon=True).start()
print("listening", flush=True)
sys.stdin.read()
"""

PROBE = """
import json, socket, sys, concurrent.futures as cf
server4, server6, probes = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
def probe(item):
    source, port = item
    v6 = ":" in source
    s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET)
    s.settimeout(3)   # a first SYN lost while the veth comes up is resent after 1 s
    s.bind((source, 0))
    try:
        s.connect((server6 if v6 else server4, port)); return "open"
    except socket.timeout:
        return "dropped"
    except ConnectionRefusedError:
        return "refused"
    finally:
        s.close()
with cf.ThreadPoolExecutor(len(probes)) as pool:
    print(json.dumps([[s, p, r] for (s, p), r in zip(probes, pool.map(probe, probes))]))
"""


def test_firewall_in_a_network_namespace(tmp_path):
    """Two namespaces joined by a veth pair: the 'server' loads the rendered rules and listens on every
    port Milkbot uses (as if each were bound to all addresses); the 'internet' connects from a Cloudflare
    address, the operator's range and elsewhere, over IPv4 and IPv6."""
    nft = render(tmp_path) / "etc/milkbot/milkbot.nft"
    tag = f"{os.getpid() % 100000}"
    srv, cli, vs, vc = f"mbfw-s{tag}", f"mbfw-c{tag}", f"mbs{tag}", f"mbc{tag}"
    cloudflare4, operator4, stranger4 = "173.245.48.5", "203.0.113.9", "198.51.100.7"
    cloudflare6, operator6, stranger6 = "2400:cb00::5", "2001:db8:ee::9", "2001:db8:ff::7"
    _ip("netns", "add", srv)
    listener = None
    try:
        _ip("netns", "add", cli)
        _ip("link", "add", vs, "type", "veth", "peer", "name", vc)
        _ip("link", "set", vs, "netns", srv)
        _ip("link", "set", vc, "netns", cli)
        _ip("-n", srv, "addr", "add", "192.0.2.1/24", "dev", vs)
        _ip("-n", srv, "addr", "add", "2001:db8:1::1/64", "dev", vs, "nodad")
        for addr in (cloudflare4, operator4, stranger4):
            _ip("-n", cli, "addr", "add", f"{addr}/32", "dev", vc)
        for addr in (cloudflare6, operator6, stranger6):
            _ip("-n", cli, "addr", "add", f"{addr}/128", "dev", vc, "nodad")
        _ip("-n", cli, "addr", "add", "192.0.2.2/24", "dev", vc)
        _ip("-n", cli, "addr", "add", "2001:db8:1::2/64", "dev", vc, "nodad")
        for ns, dev in ((srv, vs), (cli, vc)):
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", dev, "up")
            _ip("-n", ns, "route", "add", "default", "dev", dev)
            _ip("-n", ns, "-6", "route", "add", "default", "dev", dev)
        loaded = subprocess.run(["ip", "netns", "exec", srv, "nft", "-f", str(nft)], capture_output=True, text=True)
        assert loaded.returncode == 0, loaded.stderr
        ports = [80, 443, 22, 5432, 3000, 8501]
        listener = subprocess.Popen(["ip", "netns", "exec", srv, sys.executable, "-c", LISTEN, *map(str, ports)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert listener.stdout.readline().strip() == "listening"
        probes = [[src, port] for src in (cloudflare4, operator4, stranger4, cloudflare6, operator6, stranger6)
                  for port in ports]
        out = subprocess.run(["ip", "netns", "exec", cli, sys.executable, "-c", PROBE, "192.0.2.1", "2001:db8:1::1",
                              json.dumps(probes)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        seen = {(s, p): r for s, p, r in json.loads(out.stdout)}
        expected = {(s, p): ("open" if (s in (cloudflare4, cloudflare6) and p in (80, 443))
                             or (s in (operator4, operator6) and p == 22) else "dropped")
                    for s, p in seen}
        assert seen == expected
        # nothing refused: the dropped packets never reached the listeners' TCP stack
        assert sum(r == "open" for r in seen.values()) == 6
    finally:
        if listener:
            listener.stdin.close()
            listener.kill()
            listener.wait()
        subprocess.run(["ip", "netns", "del", cli], capture_output=True)
        subprocess.run(["ip", "netns", "del", srv], capture_output=True)


def test_rendered_nginx_conf_passes_nginx_t(server_root):
    """The edge configuration as installed (credentials folder, unit state folder), checked with nginx -t
    with those two folders moved under a scratch root."""
    from test_edge import origin_certificate
    root = render(server_root, origin_pull=True)
    creds = root / "run/credentials/milkbot-nginx.service"
    creds.mkdir(parents=True)
    cert, key = origin_certificate(creds)
    shutil.copy(cert, creds / "origin-pull-ca.pem")
    state = root / "var/lib/milkbot-edge"
    for d in ("cache", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (state / d).mkdir(parents=True)
    conf = root / "etc/milkbot/nginx.conf"
    text = conf.read_text()
    assert "ssl_verify_client on;" in text and "listen 443 ssl http2" in text
    # its errors go to the journal (bounded and rotated by journald), not to a file nothing rotates
    assert "error_log stderr error;" in text and "/error.log" not in text
    unit = (root / "etc/systemd/system/milkbot-nginx.service").read_text()
    assert " -e stderr" in unit and "error.log" not in unit
    moved = root / "nginx-test.conf"
    moved.write_text(text.replace("/run/credentials/", f"{root}/run/credentials/")
                     .replace("/var/lib/milkbot-edge", str(state)).replace("listen 443", "listen 127.0.0.1:1443")
                     .replace("listen 80 ", "listen 127.0.0.1:1080 "))
    ok = subprocess.run(["nginx", "-t", "-q", "-p", str(state), "-c", str(moved), "-e", "stderr"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert (creds / "origin.key").exists()
    (creds / "origin.key").unlink()                        # without its key nginx -t fails (so would ExecStartPre)
    bad = subprocess.run(["nginx", "-t", "-q", "-p", str(state), "-c", str(moved), "-e", str(state / "error.log")],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "origin.key" in bad.stderr


def _command(line: str, remap: dict[str, str]) -> list[str]:
    for old, new in remap.items():
        line = line.replace(old, new)
    return shlex.split(line)


def _as(user: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", user, "--", *args], capture_output=True, text=True, cwd="/")


def _start_as(user: str, args: list[str], log: Path) -> subprocess.Popen:
    """A long-running process as `user` with the groups systemd would give it (User= plus its
    memberships in /etc/group, which is how SupplementaryGroups=milkbot-db-clients reaches it)."""
    import grp
    import pwd
    pw = pwd.getpwnam(user)
    groups = [g.gr_gid for g in grp.getgrall() if user in g.gr_mem]
    return subprocess.Popen(args, user=pw.pw_uid, group=pw.pw_gid, extra_groups=groups, cwd="/",
                            stdout=subprocess.DEVNULL, stderr=open(log, "wb"))


def test_database_unit_runs_socket_only_with_one_role_per_user(server_root):
    """The postgres unit's ExecStartPre (initdb) and ExecStart, run as milkbot-db with the rendered
    pg_hba/pg_ident, its state and socket folders moved under a scratch root. Each service user gets
    exactly its own role; users outside milkbot-db-clients cannot open the socket; there is no TCP."""
    root = render(server_root)
    proc = subprocess.run(["systemd-sysusers", str(root / "etc/sysusers.d/milkbot.conf")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    remap = {"/var/lib/milkbot-db": str(root / "var/lib/milkbot-db"), "/run/milkbot-db": str(root / "run/milkbot-db"),
             "/etc/milkbot": str(root / "etc/milkbot")}
    state, run = Path(remap["/var/lib/milkbot-db"]), Path(remap["/run/milkbot-db"])
    shutil.chown(root / "etc/milkbot/postgrest.conf", group="milkbot-api")
    for folder, mode in ((state, 0o700), (run, 0o755)):           # what StateDirectory=/RuntimeDirectory= make
        folder.mkdir(parents=True)
        os.chmod(folder, mode)
        shutil.chown(folder, "milkbot-db", "milkbot-db")
    # the test process plays milkbot-migrate (it cannot become milkbot-db with this checkout's Python)
    ident = root / "etc/milkbot/pg_ident.conf"
    ident.write_text(ident.read_text() + "milkbot    root                milkbot_admin   # test only\n")
    u = unit(root / "etc/systemd/system/milkbot-postgres.service")
    init = _as("milkbot-db", *_command(u["ExecStartPre"][0], remap))
    assert init.returncode == 0, init.stderr
    server = _start_as("milkbot-db", _command(u["ExecStart"][0], remap), root / "postgres.log")
    try:
        wait_for(lambda: subprocess.run([str(PG_BIN / "pg_isready"), "-q", "-h", str(run)]).returncode == 0,
                 "the unit's postgres to accept connections", 60,
                 gone=lambda: server.poll() is not None and f"postgres exited: {(root / 'postgres.log').read_text()[-800:]}")
        env = dict(line.split("=", 1) for line in (root / "etc/milkbot/milkbot.env").read_text().splitlines()
                   if line and not line.startswith("#"))
        url = {k: v.replace("/run/milkbot-db", str(run)) for k, v in env.items() if k.endswith("DATABASE_URL")}
        admin = url["MILKBOT_DATABASE_URL"]
        with psycopg.connect(admin.replace("/milkbot?", "/postgres?"), autocommit=True) as conn:
            conn.execute("create database milkbot")
            assert conn.execute("show listen_addresses").fetchone()[0] == ""        # no TCP at all
        migrate(admin)

        def who(user: str, env_key: str) -> subprocess.CompletedProcess:
            return _as(user, str(PG_BIN / "psql"), "-XAtqc", "select current_user", url[env_key])

        for user, key, role in [("milkbot-ingest", "MILKBOT_INGEST_DATABASE_URL", "milkbot_ingest"),
                                ("milkbot-exec", "MILKBOT_EXECUTOR_DATABASE_URL", "milkbot_executor"),
                                ("milkbot-analytics", "MILKBOT_ANALYTICS_DATABASE_URL", "milkbot_analytics"),
                                ("milkbot-api", "MILKBOT_AUTHENTICATOR_DATABASE_URL", "milkbot_authenticator")]:
            got = who(user, key)
            assert got.returncode == 0 and got.stdout.strip() == role, (user, got.stderr)
        wrong = who("milkbot-ingest", "MILKBOT_EXECUTOR_DATABASE_URL")          # not its role
        assert wrong.returncode != 0 and "Peer authentication failed" in wrong.stderr
        for outsider in ("milkbot-web", "milkbot-edge"):                        # not in milkbot-db-clients
            denied = who(outsider, "MILKBOT_INGEST_DATABASE_URL")
            assert denied.returncode != 0 and "Permission denied" in denied.stderr, denied.stderr
        with psycopg.connect(url["MILKBOT_OPERATOR_DATABASE_URL"]) as conn:       # the operator (root here)
            assert conn.execute("select current_user").fetchone()[0] == "milkbot_operator"

        # PostgREST, as milkbot-api, on the rendered config: the public API answers from this database
        pgrst_conf = (root / "etc/milkbot/postgrest.conf").read_text()
        assert 'server-host = "127.0.0.1"' in pgrst_conf
        port = free_ports(1)[0]
        moved = root / "etc/milkbot/postgrest-test.conf"
        moved.write_text(re.sub(r"server-port = \d+", f"server-port = {port}",
                                pgrst_conf.replace("/run/milkbot-db", str(run))))
        shutil.chown(moved, group="milkbot-api")
        os.chmod(moved, 0o640)
        binary = root / "postgrest"
        shutil.copy2(POSTGREST, binary)                                           # reachable by milkbot-api
        pgrst = _start_as("milkbot-api", [str(binary), str(moved)], root / "postgrest.log")
        try:
            health = wait_for(lambda: _get(f"http://127.0.0.1:{port}/health"), "PostgREST on the rendered config", 30,
                              gone=lambda: pgrst.poll() is not None and f"postgrest exited: {(root / 'postgrest.log').read_text()[-500:]}")
            assert health.status_code == 200 and isinstance(health.json(), list)
        finally:
            pgrst.terminate()
            pgrst.wait(10)
    finally:
        server.send_signal(2)        # SIGINT: the unit's KillSignal, a fast shutdown
        server.wait(60)


def _get(url: str):
    try:
        r = httpx.get(url, timeout=2)
        return r if r.status_code == 200 else None
    except httpx.HTTPError:
        return None


def test_the_edge_listens_on_ipv6_unless_told_not_to(tmp_path):
    conf = (render(tmp_path / "both") / "etc/milkbot/nginx.conf").read_text()
    assert "listen [::]:443 ssl http2 default_server;" in conf and "listen [::]:80 default_server;" in conf
    conf = (render(tmp_path / "v4", http_listen6="", https_listen6="") / "etc/milkbot/nginx.conf").read_text()
    assert "[::]" not in conf and "listen 443 ssl http2 default_server;" in conf
