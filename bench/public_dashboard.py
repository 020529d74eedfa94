"""Benchmark: the public dashboard with 1,000 delayed trades (scratch database, dbt rollups built).

  1. Time to first render of the Overview in headless Chromium through the local nginx: from navigation
     until the ten city cards and the equity chart are on screen -- cold (empty st.cache_data) and warm
     (a second visitor within the cache's TTL), five visits each.
  2. Public API requests per refresh (Streamlit AppTest in this process, counting real HTTP requests):
     one visitor's first render, a second visitor within the TTL, and a refresh after the TTL.
  3. The same warm render while ten hostile WebSockets from ten addresses each ask Streamlit for a full
     run every 0.1 s (issue 26 §1), behind the WebSocket guard (dashboard/guard.py, the default) and
     without its run budget; and while 1,000 idle sockets from 100 addresses are open."""
from __future__ import annotations

import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import public_world  # noqa: E402
from fakes.hostile_ws import HOSTILE_EVERY_S, HOSTILE_SOCKETS, Hostile  # noqa: E402
from fakes.ports import free_ports  # noqa: E402

from milkbot import config  # noqa: E402
from milkbot.analytics import build  # noqa: E402
from milkbot.api import start as start_api  # noqa: E402
from milkbot.dashboard_server import start as start_dashboard  # noqa: E402
from milkbot.db import Database  # noqa: E402
from milkbot.migrate import migrate  # noqa: E402

TRADES = 1000
logging.getLogger("streamlit").setLevel(logging.ERROR)   # AppTest without a server warns per cache call
VISITS = int(os.environ.get("MILKBOT_BENCH_VISITS", "5"))
PHASES = os.environ.get("MILKBOT_BENCH_PHASES", "hostile,idle,unguarded").split(",")


class Handle:
    def __init__(self, conn):
        self.admin = conn


def first_render_ms(url: str, visits: int) -> list[float]:
    from playwright.sync_api import sync_playwright
    out = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=["--no-sandbox"])
        for _ in range(visits):
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            t0 = time.perf_counter()
            try:
                page.goto(url, timeout=120_000)
                for name in public_world.CITY_NAMES:
                    page.get_by_text(name, exact=False).first.wait_for(timeout=120_000)
                page.locator("[data-testid=stVegaLiteChart]:visible canvas, [data-testid=stVegaLiteChart]:visible svg").first.wait_for(timeout=120_000)
                out.append((time.perf_counter() - t0) * 1000)
            except Exception as exc:               # (playwright TimeoutError) not rendered within 120 s
                body = " ".join(page.inner_text("body").split())[:300] if not page.is_closed() else ""
                print(f"  (a visit failed: {type(exc).__name__}: {str(exc)[:200]}; the page said: {body!r})", flush=True)
                out.append(float("inf"))
            page.context.close()
        browser.close()
    return out


IDLE_SOCKETS, IDLE_ADDRESSES = 1000, 100


def requests_per_refresh(api_url: str) -> tuple[int, int, int, float]:
    from streamlit.testing.v1 import AppTest
    from dashboard import data, public_api
    os.environ["MILKBOT_PUBLIC_API_URL"] = api_url
    data.forget()
    n0 = public_api.requests_made
    t0 = time.perf_counter()
    AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120).run()
    script_ms = (time.perf_counter() - t0) * 1000
    first = public_api.requests_made - n0
    n1 = public_api.requests_made
    AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120).run()   # another visitor, same TTL
    second = public_api.requests_made - n1
    data._cached.clear()                                                               # the TTL has run out
    n2 = public_api.requests_made
    AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120).run()
    return first, second, public_api.requests_made - n2, script_ms


def main() -> None:
    settings = config.load()
    db = Database(settings)
    name = "milkbot_bench_dashboard"
    with psycopg.connect(db.admin_conninfo("postgres"), autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    state = Path(tempfile.mkdtemp(prefix="mbbench-", dir="/var/tmp"))
    os.chmod(state, 0o755)
    api = dash = None
    try:
        migrate(db.admin_conninfo(name))
        with psycopg.connect(db.admin_conninfo(name), autocommit=True) as conn:
            public_world.populate(Handle(conn), trades=TRADES)
            n = conn.execute("select count(*) from api.trades").fetchone()[0]
        assert build(settings, dbname=name, quiet=True) == 0
        pport, aport, dport = free_ports(3)
        api = start_api(settings, dbname=name, postgrest_port=pport, api_port=aport, state=state, dashboard_port=dport)
        dash = start_dashboard(settings, port=dport, api_url=api.url, log=state / "dashboard.log")
        cold = first_render_ms(f"http://127.0.0.1:{aport}/", 1)
        warm = first_render_ms(f"http://127.0.0.1:{aport}/", VISITS)
        print(f"dashboard with {n} delayed trades in the public feed ({TRADES + 1} fills 61+ minutes old):")
        print(f"  first render of the Overview in Chromium via nginx: cold {cold[0]:.0f} ms; "
              f"warm median {statistics.median(warm):.0f} ms (min {min(warm):.0f}, max {max(warm):.0f}, {VISITS} visits)",
              flush=True)

        def report(label, times):
            print(f"  warm render with {label}: median {statistics.median(times):.0f} ms (max {max(times):.0f}; "
                  f"inf = not rendered in 120 s); ratio to unloaded {statistics.median(times) / statistics.median(warm):.2f}",
                  flush=True)
        ws_url = f"ws://127.0.0.1:{aport}/_stcore/stream"
        if "hostile" in PHASES:
            with Hostile(ws_url) as h:
                times = first_render_ms(f"http://127.0.0.1:{aport}/", VISITS)
            report(f"{HOSTILE_SOCKETS} hostile sockets from {HOSTILE_SOCKETS} addresses asking for a run every "
                   f"{HOSTILE_EVERY_S} s, guarded ({h.asked} runs asked meanwhile)", times)
        if "idle" in PHASES:
            with Hostile(ws_url, addresses=IDLE_ADDRESSES, per_address=IDLE_SOCKETS // IDLE_ADDRESSES,
                         every_s=1, idle=True, first_octet=10) as idle:
                while idle.open + idle.refused < IDLE_SOCKETS:
                    time.sleep(0.5)
                times = first_render_ms(f"http://127.0.0.1:{aport}/", VISITS)
            report(f"{idle.open} idle sockets open from {IDLE_ADDRESSES} addresses ({idle.refused} refused)", times)
        if "unguarded" in PHASES:
            dash.stop()
            os.environ["MILKBOT_DASHBOARD_RUN_BURST"] = "1000000000"                 # no run budget: as before
            dash = start_dashboard(settings, port=dport, api_url=api.url, log=state / "dashboard.log")
            first_render_ms(f"http://127.0.0.1:{aport}/", 1)
            with Hostile(ws_url, first_octet=20) as h:
                times = first_render_ms(f"http://127.0.0.1:{aport}/", min(VISITS, 2))
            del os.environ["MILKBOT_DASHBOARD_RUN_BURST"]
            report(f"the same hostile sockets without the run budget ({h.asked} runs asked meanwhile)", times)
        guard_lines = [ln for ln in (state / "dashboard.log").read_text().splitlines() if "websocket guard" in ln]
        print("  the guard's own log:" + "".join(f"\n    {ln}" for ln in guard_lines[-5:]) if guard_lines else
              "  the guard's own log: no line yet (it reports once a minute, when something was held or dropped)", flush=True)
        first, second, refresh, script_ms = requests_per_refresh(api.url)
        print(f"  script run (AppTest, all five tabs, cold cache): {script_ms:.0f} ms")
        print(f"  public API requests: first render {first}; another visitor within the cache TTL {second}; "
              f"each refresh after the TTL {refresh}")
    finally:
        for p in (dash, api):
            if p:
                p.stop()
        shutil.rmtree(state, ignore_errors=True)
        with psycopg.connect(db.admin_conninfo("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
