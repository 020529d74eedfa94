"""The demo, run for a short while as a visitor would see it (issue 28 §1): `milkbot up --sim` on an
accelerated clock (a day per minute here) replays recorded days, and through the public API alone we
find markets that settled, a calibration that is no longer empty, trades on more than one simulated day,
and books that moved. Every wait is for an event; the bounds are failure bounds for a
loaded machine, not expectations of speed."""
from __future__ import annotations

import os
import signal
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from conftest import SHARED_DATA
from fakes.ports import free_ports
from fakes.waiting import wait_for
from test_shutdown import MILKBOT, alive, api_answers, descendants, env_for, exited, listening

RATE = 1440                              # sim seconds per wall second: a day per minute


def next_start(now: datetime) -> datetime:
    """The next 02:00 UTC at least a minute ahead: late evening in the East -- tomorrow's markets listed,
    so the cycle gives them a day-ahead probability (what the public calibration scores) before their day
    begins at 05:00 UTC, and they settle 29 sim hours after the start."""
    at = now.replace(hour=2, minute=0, second=0, microsecond=0)
    return at if at >= now + timedelta(minutes=1) else at + timedelta(days=1)


def public(api: str, view: str, **params) -> list[dict]:
    r = httpx.get(f"{api}/{view}", params=params, timeout=10)
    r.raise_for_status()
    return r.json()


def quotes(api: str) -> dict[str, tuple]:
    return {row["market"]: (row.get("yes_bid"), row.get("yes_ask")) for row in public(api, "ladders")}


SHOTS_AFTER_SETTLED = 480                # four simulated days of ten cities' highs and lows


def screenshots(site: str, folder: Path) -> None:
    """Overview, a city (today against the forecast, its ladders) and its calibration (model against
    market on the settled days), as a visitor's browser shows them."""
    from playwright.sync_api import sync_playwright
    from test_dashboard_browser import CHROMIUM, full_page
    folder.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(site)
            page.get_by_text("Equity and drawdown").wait_for(timeout=120_000)
            page.locator("[data-testid=stVegaLiteChart]:visible canvas, [data-testid=stVegaLiteChart]:visible svg").first.wait_for()
            full_page(page, folder / "overview.png")
            page.set_viewport_size({"width": 1280, "height": 900})
            page.get_by_role("tab", name="Cities").click()
            page.get_by_text("New York today: observed so far against the forecast").wait_for()
            heading = page.get_by_text("Model or market: which was right more often in New York?")
            heading.wait_for()
            page.get_by_text("settled markets, Brier").first.wait_for(timeout=60_000)
            full_page(page, folder / "cities.png")
            chart = page.locator("[data-testid=stVegaLiteChart]:visible").last
            chart.scroll_into_view_if_needed()
            chart.screenshot(path=str(folder / "calibration.png"))
        finally:
            browser.close()


def test_the_sim_replays_days_settles_and_trades_on_an_accelerated_clock(db):
    pport, aport, dport = free_ports(3)
    start = next_start(datetime.now(timezone.utc))
    env = env_for(db, MILKBOT_POSTGREST_PORT=str(pport), MILKBOT_API_PORT=str(aport), MILKBOT_DASHBOARD_PORT=str(dport),
                  MILKBOT_SIM_RATE=str(RATE), MILKBOT_SIM_START=start.isoformat(), MILKBOT_HTTP_TIMEOUT="5")
    api = f"http://127.0.0.1:{aport}/v1"
    proc = subprocess.Popen([MILKBOT, "up", "--sim"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    seen: dict = {}
    try:
        wait_for(lambda: api_answers(f"{api}/health"), "the API", gone=exited(proc), timeout=120)
        wait_for(lambda: len(quotes(api)) > 0, "the first quotes", gone=exited(proc), timeout=180)
        first = quotes(api)

        seen.update(settled=0, trade_days=set(), moved=set())

        def settled_traded_moved() -> bool:
            # each seen at some moment (a market's quotes leave the ladders once its day is over)
            seen["settled"] = max(seen["settled"], sum(int(r["markets"]) for r in public(api, "calibration")))
            trades = public(api, "trades", select="market,traded_at")
            seen["trade_days"] |= {t["traded_at"][:10] for t in trades}          # sim days (UTC) the bot traded on
            seen["moved"] |= {k for k, v in quotes(api).items() if k in first and v != first[k] and None not in v}
            return seen["settled"] > 0 and len(seen["trade_days"]) >= 2 and len(seen["moved"]) > 0
        try:
            wait_for(settled_traded_moved, "settled markets, trades on two simulated days and books that moved",
                     gone=exited(proc), timeout=480)
        except pytest.fail.Exception as exc:
            os.killpg(proc.pid, signal.SIGINT)
            out = proc.communicate(timeout=90)[0]
            seen["moved"] = len(seen["moved"])
            raise AssertionError(f"{exc}; seen: {seen}; the sim said:\n" + "\n".join(out.splitlines()[-40:])) from None
        if os.environ.get("MILKBOT_SCREENSHOT_DIR"):          # `make screenshot`: the README's images from this run
            wait_for(lambda: sum(int(r["markets"]) for r in public(api, "calibration")) >= SHOTS_AFTER_SETTLED,
                     f"{SHOTS_AFTER_SETTLED} settled markets for the screenshots", gone=exited(proc), timeout=900)
            screenshots(f"http://127.0.0.1:{aport}/", Path(os.environ["MILKBOT_SCREENSHOT_DIR"]))
        status = public(api, "status")[0]
        served = datetime.fromisoformat(status["served_at"])
        tree = descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            tree = descendants(proc.pid)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0 and "Traceback" not in out, out
    # the public clock is the sim's: hours ahead of the wall by now
    assert served > start + timedelta(hours=6), (served, start)
    # the About says what the world is made of
    if (SHARED_DATA / "history" / "truth.csv").is_file():
        assert "replays a real recorded day" in status["sim_world"], status
    else:
        assert "synthetic" in status["sim_world"], status
    # a stopped sim leaves the wall clock (and its scaled limits restored)
    assert db.admin.execute("select count(*) from ops.sim_clock").fetchone()[0] == 0
    assert db.admin.execute("select value from ops.strategy_params where name = 'max_quote_age_min'").fetchone()[0] == 15
    assert not listening(pport) and not listening(aport) and not listening(dport)
    assert not [p for p in tree if alive(p)], tree


def test_the_demo_operator_resumes_only_a_daily_loss_halt_and_only_on_the_next_trading_day(db):
    from milkbot.supervisor import SimClock
    conn = db.admin
    conn.execute("set milkbot.operator = 'sim'")

    def halt(ago: str, by: str, reason: str) -> int:
        conn.execute("update ops.trading_state set state = 'HALTED', changed_at = now() - %s::interval, changed_by = %s, reason = %s",
                     (ago, by, reason))
        return int(conn.execute(SimClock.RESUME).fetchone()[0])

    assert halt("0 minutes", "ops.run_cycle", "daily loss breaker: P&L today -101 < -100") == 0    # the same trading day
    assert halt("3 days", "operator", "manual halt") == 0                                        # a person's halt stays
    assert halt("3 days", "ops.run_cycle", "error rate breaker: 5 rejected") == 0                # so does any other breaker
    assert halt("3 days", "ops.run_cycle", "daily loss breaker: P&L today -101 < -100") == 1     # the next trading day: resumed
    state, by = conn.execute("select state, changed_by from ops.trading_state").fetchone()
    assert (state, by) == ("ACTIVE", "sim")
    assert conn.execute("""select new_row ->> 'changed_by' from ops.control_audit where table_name = 'trading_state'
                            order by id desc limit 1""").fetchone()[0] == "sim"
