"""Benchmark: the public dashboard with 1,000 delayed trades (scratch database, dbt rollups built).

  1. Time to first render of the Overview in headless Chromium through the local nginx: from navigation
     until the ten city cards and the equity chart are on screen -- cold (empty st.cache_data) and warm
     (a second visitor within the cache's TTL), five visits each.
  2. Public API requests per refresh (Streamlit AppTest in this process, counting real HTTP requests):
     one visitor's first render, a second visitor within the TTL, and a refresh after the TTL.
  3. The same warm render while ten hostile WebSockets each ask Streamlit for a full run every 0.1 s
     (issue 26 §1), with the run budget per connection (the default) and without it."""
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
                print(f"  (a visit failed: {type(exc).__name__}: {str(exc)[:200]})", flush=True)
                out.append(float("inf"))
            page.context.close()
        browser.close()
    return out


HOSTILE_SOCKETS, HOSTILE_EVERY_S = 10, 0.1


class Hostile:
    """Ten sockets speaking Streamlit's own protocol, each asking for a full run every 0.1 s (and
    reading what comes back, as a browser would), in a thread until stopped."""

    def __init__(self, url: str):
        import threading
        self.url, self.stop, self.asked = url, threading.Event(), 0
        self.thread = threading.Thread(target=lambda: __import__("asyncio").run(self._all()), daemon=True)

    async def _one(self):
        import asyncio
        import websockets
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ClientState_pb2 import ClientState
        async with websockets.connect(self.url, max_size=None) as ws:
            async def drain():
                async for _ in ws:
                    pass
            reader = asyncio.ensure_future(drain())
            while not self.stop.is_set():
                await ws.send(BackMsg(rerun_script=ClientState()).SerializeToString())
                self.asked += 1
                await asyncio.sleep(HOSTILE_EVERY_S)
            reader.cancel()

    async def _all(self):
        import asyncio
        await asyncio.gather(*(self._one() for _ in range(HOSTILE_SOCKETS)), return_exceptions=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(30)


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
        ws_url = f"ws://127.0.0.1:{aport}/_stcore/stream"
        with Hostile(ws_url) as h:
            attacked = first_render_ms(f"http://127.0.0.1:{aport}/", VISITS)
        budget_asked = h.asked
        dash.stop()
        os.environ["MILKBOT_DASHBOARD_RUN_BUDGET"] = "1000000000"                 # no budget: as before
        dash = start_dashboard(settings, port=dport, api_url=api.url, log=state / "dashboard.log")
        first_render_ms(f"http://127.0.0.1:{aport}/", 1)
        with Hostile(ws_url) as h:
            unbudgeted = first_render_ms(f"http://127.0.0.1:{aport}/", VISITS)
        del os.environ["MILKBOT_DASHBOARD_RUN_BUDGET"]
        first, second, refresh, script_ms = requests_per_refresh(api.url)
        print(f"dashboard with {n} delayed trades in the public feed ({TRADES + 1} fills 61+ minutes old):")
        print(f"  first render of the Overview in Chromium via nginx: cold {cold[0]:.0f} ms; "
              f"warm median {statistics.median(warm):.0f} ms (min {min(warm):.0f}, max {max(warm):.0f}, {VISITS} visits)")
        for label, times, asked in (("with the run budget", attacked, budget_asked), ("without it", unbudgeted, h.asked)):
            print(f"  the same with {HOSTILE_SOCKETS} hostile sockets asking for a run every {HOSTILE_EVERY_S} s, {label}: "
                  f"median {statistics.median(times):.0f} ms (max {max(times):.0f}; inf = not rendered in 120 s; "
                  f"{asked} runs asked meanwhile)")
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
