"""`milkbot edge`: the public nginx configuration (deploy/nginx-public.conf), rendered from settings and
the Cloudflare ranges file, validated with `nginx -t` before anything reloads; and the ranges' refresh.

    milkbot edge render [--out DIR]    write DIR/nginx.conf (default MILKBOT_EDGE_DIR or .milkbot/edge)
    milkbot edge check  [--out DIR]    render, then nginx -t on it (exit 1 with nginx's message if invalid)
    milkbot edge refresh-ips           fetch Cloudflare's published ranges into deploy/cloudflare-ips.txt
"""
from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from string import Template

from .config import PROJECT_ROOT, Settings

TEMPLATE = PROJECT_ROOT / "deploy" / "nginx-public.conf"
CF_RANGES = PROJECT_ROOT / "deploy" / "cloudflare-ips.txt"
CF_URLS = ("https://www.cloudflare.com/ips-v4", "https://www.cloudflare.com/ips-v6")


class EdgeError(Exception):
    pass


@dataclass
class EdgeConfig:
    out: Path
    server_name: str
    cert: str
    cert_key: str
    origin_pull_ca: str | None
    http_listen: str
    https_listen: str
    postgrest_port: int
    dashboard_port: int
    ranges: Path
    worker_processes: str = "auto"
    http_listen6: str = "[::]:80"        # "" = no IPv6 listener
    https_listen6: str = "[::]:443"
    # "" = STATE/error.log; the installed unit says "stderr": the journal keeps it, bounded and rotated
    # by journald (and only real errors reach it: no client's error is logged, see the template)
    error_log: str = ""

    @classmethod
    def from_settings(cls, s: Settings, out: Path | None = None, **over) -> "EdgeConfig":
        e = s.extra
        values = dict(out=out or Path(e.get("MILKBOT_EDGE_DIR", s.state_dir / "edge")),
                      server_name=e.get("MILKBOT_EDGE_SERVER_NAME", "_"),
                      cert=e.get("MILKBOT_EDGE_CERT", "/etc/milkbot/tls/origin.pem"),
                      cert_key=e.get("MILKBOT_EDGE_CERT_KEY", "/etc/milkbot/tls/origin.key"),
                      origin_pull_ca=e.get("MILKBOT_EDGE_ORIGIN_PULL_CA") or None,
                      http_listen=e.get("MILKBOT_EDGE_HTTP_LISTEN", "80"),
                      https_listen=e.get("MILKBOT_EDGE_HTTPS_LISTEN", "443"),
                      http_listen6=e.get("MILKBOT_EDGE_HTTP_LISTEN6", "[::]:80"),
                      https_listen6=e.get("MILKBOT_EDGE_HTTPS_LISTEN6", "[::]:443"),
                      postgrest_port=s.postgrest_port, dashboard_port=s.dashboard_port,
                      ranges=Path(e.get("MILKBOT_EDGE_CF_RANGES", CF_RANGES)))
        values.update(over)
        return cls(**values)


def read_ranges(path: Path) -> list[str]:
    """The ranges file: one CIDR per line, # comments. Anything else is an error naming the line."""
    nets = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            nets.append(str(ipaddress.ip_network(text)))
        except ValueError:
            raise EdgeError(f"{path}:{n}: not a network: {text!r}") from None
    if not nets:
        raise EdgeError(f"{path}: no ranges (CF-Connecting-IP would never be trusted)")
    return nets


def text(cfg: EdgeConfig, state: Path | str | None = None) -> str:
    """The configuration itself; `state` is where nginx keeps its pid, temp files, cache and error log
    (default: the output folder; the systemd unit uses its own state folder)."""
    real_ip = "\n".join(f"    set_real_ip_from {net};" for net in read_ranges(cfg.ranges))
    origin_pull = (f"        ssl_client_certificate {cfg.origin_pull_ca};   # authenticated origin pulls\n"
                   f"        ssl_verify_client on;" if cfg.origin_pull_ca else "        # (authenticated origin pulls: off)")
    # plain HTTP redirects to our own name, never to the Host a client sent (an open redirect otherwise)
    # (no name configured: plain HTTP redirects nowhere, it answers the generic 404)
    names = [n for n in cfg.server_name.split() if n != "_" and not n.startswith(("*", "~"))]
    http_action = (f"return 301 https://{names[0]}$request_uri;" if names else
                   "default_type application/json; return 404 '{\"code\":\"MB404\",\"message\":\"not found\"}\\n';")
    return Template(TEMPLATE.read_text()).substitute(
        state=state or cfg.out, error_log=cfg.error_log or f"{state or cfg.out}/error.log", http_listen=cfg.http_listen, https_listen=cfg.https_listen, server_name=cfg.server_name,
        listen6_http=f"        listen {cfg.http_listen6} default_server;" if cfg.http_listen6 else "        # (no IPv6 listener)",
        listen6_https=f"        listen {cfg.https_listen6} ssl http2 default_server;" if cfg.https_listen6 else "        # (no IPv6 listener)",
        http_action=http_action,
        cert=cfg.cert, cert_key=cfg.cert_key, origin_pull=origin_pull, real_ip=real_ip,
        postgrest_port=cfg.postgrest_port, dashboard_port=cfg.dashboard_port, worker_processes=cfg.worker_processes)


def render(cfg: EdgeConfig) -> Path:
    """Write OUT/nginx.conf with OUT as its state folder (temp and cache folders created)."""
    state = cfg.out
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (state / "tmp" / d).mkdir(parents=True, exist_ok=True)
    (state / "cache").mkdir(exist_ok=True)
    conf = state / "nginx.conf"
    conf.write_text(text(cfg))
    return conf


def nginx_binary() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def check(conf: Path) -> tuple[bool, str]:
    """`nginx -t` on the rendered file (its own prefix: nothing of the system's nginx is touched)."""
    p = subprocess.run([nginx_binary(), "-t", "-q", "-p", str(conf.parent), "-c", str(conf),
                        "-e", str(conf.parent / "error.log")], capture_output=True, text=True)
    return p.returncode == 0, (p.stderr or p.stdout).strip()


def refresh_ranges(dest: Path = CF_RANGES, fetch=None) -> int:
    """Fetch Cloudflare's published ranges, validate every line, replace the file atomically."""
    import httpx
    fetch = fetch or (lambda url: httpx.get(url, timeout=10, follow_redirects=True).raise_for_status().text)
    lines = []
    for url in CF_URLS:
        for line in fetch(url).split():
            lines.append(str(ipaddress.ip_network(line.strip())))
    if len(lines) < 10:
        raise EdgeError(f"only {len(lines)} ranges fetched: refusing to replace {dest}")
    tmp = dest.with_suffix(".tmp")
    tmp.write_text("# Cloudflare's published origin-facing ranges (" + ", ".join(CF_URLS) + ").\n"
                   "# Refresh with: milkbot edge refresh-ips   (then: milkbot edge check && systemctl reload nginx)\n"
                   + "\n".join(lines) + "\n")
    os.replace(tmp, dest)
    return len(lines)
