"""Benchmark: the public edge (deploy/nginx-public.conf: TLS, rate limits, the 5-s micro-cache) against
the local mapping (deploy/nginx-local.conf: plain HTTP straight to PostgREST), for /v1/trades and
/v1/health, with wrk at 20 concurrent connections for 10 s each, on a scratch database of 2,000 delayed
fills with its dbt rollups.

Behind Cloudflare the origin sees many visitors over few Cloudflare connections, so wrk connects from
127.0.0.1 (listed as "Cloudflare" in this run's ranges file) and gives every request its own random
CF-Connecting-IP and asks for gzip, as Cloudflare does: the per-visitor limit of 10 r/s then binds no one, as in production. A last run sends
no such header — one client hammering the API — to show the limit answering 429 at the edge.
wrk and nginx share this machine's cores, so the figures are a floor for a dedicated origin."""
from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from fakes.ports import free_ports  # noqa: E402
from test_edge import origin_certificate  # noqa: E402

from milkbot import config, edge  # noqa: E402
from milkbot.api import _server_user, _spawn, start  # noqa: E402
from _support import scratch_world, wrk  # noqa: E402

SECONDS = 10
VISITORS = """
-- every request from another visitor, as Cloudflare would forward them (Cloudflare asks for gzip)
math.randomseed(os.time())
wrk.headers["Accept-Encoding"] = "gzip"
request = function()
  wrk.headers["CF-Connecting-IP"] = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  return wrk.format(nil)
end
"""
# the cache-busting attack of issue 26 §3: every request a new query (a random offset), from many visitors
BUSTING = VISITORS.replace("return wrk.format(nil)",
                           'return wrk.format(nil, wrk.path .. "?offset=" .. math.random(0, 1000))')
# and what a random unknown parameter costs now: a generic 400 at the edge, PostgREST never asked
JUNK = VISITORS.replace("return wrk.format(nil)", 'return wrk.format(nil, wrk.path .. "?x" .. math.random(1, 1e9) .. "=1")')


def _answers(url: str, trust: ssl.SSLContext) -> bool:
    try:
        return httpx.get(url, verify=trust, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk not installed (make bench installs it)")
    settings = config.load()
    state = Path(tempfile.mkdtemp(prefix="mbbench-edge-", dir="/var/tmp"))
    os.chmod(state, 0o755)
    procs = nginx = None
    with scratch_world(settings, "mbbench_edge"):
        try:
            pport, aport, https, http, dport = free_ports(5)
            procs = start(settings, dbname="mbbench_edge", postgrest_port=pport, api_port=aport, state=state / "local")
            public = state / "public"
            public.mkdir()
            cert, key = origin_certificate(public)
            ranges = public / "ranges.txt"
            ranges.write_text("127.0.0.1/32\n")
            cfg = edge.EdgeConfig.from_settings(settings, public, cert=str(cert), cert_key=str(key),
                                                http_listen=f"127.0.0.1:{http}", https_listen=f"127.0.0.1:{https}",
                                                postgrest_port=pport, dashboard_port=dport, ranges=ranges,
                                                http_listen6="", https_listen6="")   # loopback IPv4 only here
            conf = edge.render(cfg)
            ok, message = edge.check(conf)
            if not ok:
                raise SystemExit(f"public config invalid: {message}")
            user = _server_user(settings)
            if user:
                for p in [public, *public.rglob("*")]:
                    os.chown(p, user.pw_uid, user.pw_gid)
            nginx = _spawn([edge.nginx_binary(), "-p", str(public), "-c", str(conf), "-e", str(public / "error.log")],
                           user, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            script = public / "visitors.lua"
            script.write_text(VISITORS)
            trust = ssl.create_default_context(cafile=str(cert))
            deadline = time.monotonic() + 20
            while not _answers(f"https://127.0.0.1:{https}/v1/health", trust):
                if nginx.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the public nginx did not come up; see {public / 'error.log'}")
                time.sleep(0.1)
            print(f"wrk -t2 -c20 -d{SECONDS}s, {os.cpu_count()} cores shared by wrk, nginx, PostgREST and Postgres")
            for path in ("/v1/trades", "/v1/trades?limit=50", "/v1/health"):
                sizes = [httpx.get(f"https://127.0.0.1:{https}{path}", verify=trust, timeout=10,
                                   headers={"Accept-Encoding": enc}).num_bytes_downloaded for enc in ("identity", "gzip")]
                print(f"{path}: {sizes[0]:,} bytes per answer, {sizes[1]:,} gzipped")
                runs = [("local (no cache, HTTP)", f"http://127.0.0.1:{aport}{path}", None),
                        ("public (TLS, cache, gzip)", f"https://127.0.0.1:{https}{path}", str(script))]
                for label, url, lua in runs:
                    wrk(url, seconds=2, script=lua)                          # warm-up (keep-alive, cache, TLS)
                    r = wrk(url, seconds=SECONDS, script=lua)
                    print(f"{path:<20} {label:<26} {float(r['rps']):9.0f} req/s  p50 {r['p50']:>8}  "
                          f"p99 {r['p99']:>8}  non-2xx {r['non2xx']}")
            for label, lua in (("cache-busting (random offset)", BUSTING), ("random unknown parameter (400)", JUNK)):
                path = public / f"{label.split()[0]}.lua"
                path.write_text(lua)
                r = wrk(f"https://127.0.0.1:{https}/v1/trades", seconds=SECONDS, script=str(path))
                print(f"{'/v1/trades':<20} {'public, ' + label:<26} {float(r['rps']):9.0f} req/s  p50 {r['p50']:>8}  "
                      f"p99 {r['p99']:>8}  non-2xx {r['non2xx']}")
            r = wrk(f"https://127.0.0.1:{https}/v1/trades", seconds=5)
            print(f"/v1/trades  public, ONE client (no CF header): {float(r['rps']):9.0f} req/s answered, "
                  f"non-2xx {r['non2xx']} (the 10 r/s limit: all but ~10/s + burst are 429)")
        finally:
            if nginx and nginx.poll() is None:
                nginx.terminate()
                nginx.wait(10)
            if procs:
                procs.stop()
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
