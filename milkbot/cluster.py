"""The embedded Postgres cluster Milkbot owns when MILKBOT_DATABASE_URL is not set.

Data, socket and log live under the gitignored state folder (`.milkbot/` in the repo). Postgres refuses to
run as root, so when invoked as root the server runs as an unprivileged OS user (MILKBOT_PG_OS_USER,
created on first use) via `runuser`. The socket directory is private to that user (0700) and the socket
uses trust auth; TCP listens on 127.0.0.1 only and needs a scram password.
"""
from __future__ import annotations

import glob
import hashlib
import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

from .config import PROJECT_ROOT, Settings

ADMIN_ROLE = "milkbot_admin"     # bootstrap superuser of the embedded cluster (initdb -U)
MIN_PG_MAJOR = 15
_SOCKET_NAME_LEN = len("/.s.PGSQL.65535")
_MAX_SOCKET_PATH = 100           # sun_path is 108 bytes; keep a margin


class ClusterError(RuntimeError):
    pass


def find_pg_bin(explicit: str | None = None) -> Path:
    """Newest installed PostgreSQL (>= 15) server binaries; MILKBOT_PG_BIN overrides."""
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    else:
        found = []
        for d in glob.glob("/usr/lib/postgresql/*/bin"):
            m = re.search(r"/postgresql/(\d+)/bin$", d)
            if m and int(m.group(1)) >= MIN_PG_MAJOR:
                found.append((int(m.group(1)), Path(d)))
        candidates += [p for _, p in sorted(found, reverse=True)]
        pg_config = shutil.which("pg_config")
        if pg_config:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
            if out.returncode == 0:
                candidates.append(Path(out.stdout.strip()))
    for c in candidates:
        if (c / "pg_ctl").is_file() and (c / "initdb").is_file():
            return c
    raise ClusterError(
        "no PostgreSQL >= 15 server binaries found (looked in /usr/lib/postgresql/*/bin and pg_config);"
        " install postgresql-15 or set MILKBOT_PG_BIN"
    )


def ensure_os_user(user: str) -> None:
    """The unprivileged OS user the server runs as under root (created once, no login, no home)."""
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", user], check=True, capture_output=True)


def _os_user_can_traverse(user: str, path: Path) -> bool:
    """Whether `user` can reach `path` (checked on its deepest existing ancestor)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    ensure_os_user(user)
    return subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(probe)], capture_output=True).returncode == 0


def server_state_dir(settings: Settings, wanted: Path | None = None) -> Path:
    """Where files the server-side processes (Postgres, nginx workers) use live: the repo's state folder,
    unless its socket path would be too long for a unix socket, or — when invoked as root — the
    unprivileged server user cannot reach it (a checkout under a 0700 folder, e.g. `mktemp -d`).
    Then a folder under /var/tmp named after the checkout, so each checkout keeps its own cluster."""
    wanted = wanted or settings.state_dir
    too_long = len(str(wanted / "run")) + _SOCKET_NAME_LEN > _MAX_SOCKET_PATH
    unreachable = os.geteuid() == 0 and not _os_user_can_traverse(settings.pg_os_user, wanted)
    if not (too_long or unreachable):
        return wanted
    digest = hashlib.sha256(str(wanted.resolve()).encode()).hexdigest()[:10]
    fallback = Path("/var/tmp") / f"milkbot-{digest}"
    fallback.mkdir(mode=0o755, exist_ok=True)
    return fallback


class Cluster:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.port = settings.pg_port
        self.as_root = os.geteuid() == 0
        self.os_user = settings.pg_os_user if self.as_root else pwd.getpwuid(os.geteuid()).pw_name
        self.state = self._choose_state_dir(settings.state_dir)
        self.data = self.state / "pgdata"
        self.run_dir = self.state / "run"
        self.log = self.state / "log" / "postgres.log"
        self._bin: Path | None = None

    # -- locations -------------------------------------------------------------------------------
    def _choose_state_dir(self, wanted: Path) -> Path:
        return server_state_dir(self.settings, wanted)

    @property
    def bin(self) -> Path:
        if self._bin is None:
            self._bin = find_pg_bin(self.settings.pg_bin)
        return self._bin

    def url(self, role: str = ADMIN_ROLE, dbname: str | None = None) -> str:
        return f"postgresql://{role}@/{dbname or self.settings.db_name}?host={self.run_dir}&port={self.port}"

    def conninfo(self, role: str = ADMIN_ROLE, dbname: str | None = None) -> dict:
        return {"host": str(self.run_dir), "port": self.port, "user": role,
                "dbname": dbname or self.settings.db_name}

    # -- running commands as the server's OS user ------------------------------------------------
    def _server_cmd(self, *args: str) -> list[str]:
        if self.as_root:
            return ["runuser", "-u", self.os_user, "--", *args]
        return list(args)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run(self._server_cmd(*args), capture_output=True, text=True, cwd="/")
        if check and proc.returncode != 0:
            raise ClusterError(f"{Path(args[0]).name} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
        return proc

    def _ensure_os_user(self) -> None:
        if self.as_root:
            ensure_os_user(self.os_user)

    def _prepare_dirs(self) -> None:
        for d in (self.state, self.data, self.run_dir, self.log.parent):
            d.mkdir(parents=True, exist_ok=True)
        for d in (self.data, self.run_dir):
            os.chmod(d, 0o700)
        if self.as_root:
            pw = pwd.getpwnam(self.os_user)
            for d in (self.state, self.data, self.run_dir, self.log.parent):
                os.chown(d, pw.pw_uid, pw.pw_gid)
            probe = self._run("test", "-w", str(self.data), check=False)
            if probe.returncode != 0:
                raise ClusterError(
                    f"the server user {self.os_user!r} cannot reach {self.data} (a parent folder is not "
                    "traversable); set MILKBOT_STATE_DIR to a folder it can reach, e.g. /var/tmp/milkbot")

    # -- lifecycle ---------------------------------------------------------------------------------
    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").is_file()

    def init(self) -> bool:
        """initdb once; returns True if a new cluster was created."""
        self._ensure_os_user()
        self._prepare_dirs()
        if self.initialised():
            return False
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", ADMIN_ROLE, "-E", "UTF8",
                  "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256", "--no-instructions")
        conf = self.data / "postgresql.conf"
        with conf.open("a") as f:
            f.write(
                "\n# --- milkbot (port and socket dir are passed by pg_ctl at start) ---\n"
                "listen_addresses = '127.0.0.1'\n"
                "unix_socket_permissions = 0700\n"
                "timezone = 'UTC'\n"
                "log_timezone = 'UTC'\n"
                "password_encryption = 'scram-sha-256'\n"
                "max_connections = 200\n"
                "log_min_duration_statement = -1\n"
            )
        return True

    def running(self) -> bool:
        if not self.initialised():
            return False
        proc = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "status", check=False)
        return proc.returncode == 0

    def start(self) -> None:
        self.init()
        if self.running():
            return
        if self.as_root:
            pw = pwd.getpwnam(self.os_user)
            self.log.touch(exist_ok=True)
            os.chown(self.log, pw.pw_uid, pw.pw_gid)
        # the server's own log: hourly files (postgresql-00.log .. -23.log), each truncated when its hour
        # comes round again, so the log never holds more than a day
        logging = (f"-c logging_collector=on -c log_directory={self.log.parent} -c log_filename=postgresql-%H.log "
                   "-c log_rotation_age=60 -c log_rotation_size=0 -c log_truncate_on_rotation=on")
        # jit off, as in the deployed unit: the cycle's queries are short, and compiling them cost more
        # than running them (bench/cycle.py: 240 markets 120 -> ~40 ms)
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", f"-p {self.port} -k {self.run_dir} -c jit=off {logging}", "start")

    def stop(self) -> None:
        if self.running():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def version(self) -> str:
        return self._run(str(self.bin / "postgres"), "--version").stdout.strip()
