"""The dashboard in a real browser: headless Chromium (Debian's, driven by Playwright) through the local
nginx to Streamlit, which reads the public API through the same nginx. The grid renders the ten cities;
the Trades tab shows a trade 61 minutes old and not one 59 minutes old; a trade that becomes visible
later appears without a reload (auto-refresh, shortened here to 2 s); it fits a phone's width.
Full-page screenshots go to the test's output folder (the README's images come from a run of the sim:
`make screenshot`, tests/test_sim_run.py)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import public_world
from conftest import SETTINGS
from milkbot.analytics import build

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REFRESH_S = "2"


@pytest.fixture
def output(request) -> Path:
    out = Path(os.environ.get("MILKBOT_TEST_OUTPUT", ROOT / ".milkbot" / "test-output")) / request.node.name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return out


@pytest.fixture
def site(db, monkeypatch):
    """PostgREST + the local nginx (/v1/ and / -> Streamlit) + the dashboard, on free ports."""
    import tempfile
    from fakes.ports import free_ports
    from milkbot.api import start as start_api
    from milkbot.dashboard_server import start as start_dashboard
    state = Path(tempfile.mkdtemp(prefix="mbsite-", dir="/var/tmp"))
    os.chmod(state, 0o755)
    pport, aport, dport = free_ports(3)
    try:
        api = start_api(SETTINGS, dbname=db.name, postgrest_port=pport, api_port=aport, state=state, dashboard_port=dport)
    except BaseException:                    # no folder outlives a start that failed
        shutil.rmtree(state, ignore_errors=True)
        raise
    monkeypatch.setenv("MILKBOT_DASHBOARD_REFRESH_S", REFRESH_S)
    try:
        dash = start_dashboard(SETTINGS, port=dport, api_url=api.url, log=state / "dashboard.log")
    except BaseException:
        api.stop()
        shutil.rmtree(state, ignore_errors=True)
        raise
    yield f"http://127.0.0.1:{aport}/"
    dash.stop()
    api.stop()
    shutil.rmtree(state, ignore_errors=True)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright
    assert Path(CHROMIUM).exists(), "chromium is not installed (make test installs the Debian package)"
    with sync_playwright() as p:
        # (root in CI: no user namespace sandbox). The browser runs on the real clock even under `make
        # test-dates`: Chromium's timers never fire under libfaketime (pages never load), and what the
        # page shows comes from the API, which runs on the faked clock with everything else
        real_clock = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], env=real_clock)
        yield b
        b.close()


def full_page(page, path: Path) -> None:
    """Streamlit scrolls inside its main block, not the document: grow the viewport to it, then shoot."""
    height = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": int(height) + 40})
    page.wait_for_timeout(300)   # one layout pass after the resize (charts re-measure their container)
    page.screenshot(path=str(path), full_page=True)


def render(page, url: str, *, equity: bool = False) -> None:
    page.goto(url)
    for name in public_world.CITY_NAMES:                     # the grid has rendered: every city's card is there
        page.get_by_text(name, exact=False).first.wait_for(timeout=60_000)
    page.get_by_text("Equity and drawdown").wait_for()
    if equity:
        page.locator("[data-testid=stVegaLiteChart]:visible canvas, [data-testid=stVegaLiteChart]:visible svg").first.wait_for()


def test_overview_and_trades_in_a_real_browser(db, site, browser, output):
    world = public_world.populate(db, trades=12)
    assert build(SETTINGS, dbname=db.name, quiet=True) == 0
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    render(page, site, equity=True)
    body = " ".join(page.inner_text("body").split())
    assert all(name in body for name in public_world.CITY_NAMES)
    # the headline is what the build saw: 12 bulk + the 61-minute trade, and the 59-minute one too if
    # the build started more than a minute after it was written (a loaded machine): read, not assumed
    fills = db.admin.execute("select fills from api.headline").fetchone()[0]
    assert fills in (13, 14)
    assert "favours 52–53 °F at 42 %" in body and f"Trades {fills}" in body, body[:1500]
    full_page(page, output / "overview.png")

    # a trade 30 minutes old, written just before the feed is read (its age, not the machine's speed,
    # keeps it out: the 59-minute one of the world may come of age on a slow machine while we get here)
    public_world.fill(db, "young-30", world["today"][("NYC", "high")][4], "30 minutes", side="ask", price=0.14, count=4)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("tab", name="Trades").click()
    table = page.locator("[data-testid=stDataFrame] table").first   # the grid's accessible table (the canvas has no text)
    table.wait_for(state="attached")
    feed = table.text_content()
    assert world["old_words"] in feed and "38¢" in feed               # 61 minutes old: shown
    assert "86¢" not in feed                                          # 30 minutes old (NO at 86¢): not yet
    full_page(page, output / "trades.png")

    # a city: today so far against the forecast, its ladders, the month's rain, and model against market on settled days
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("tab", name="Cities").click()
    page.get_by_text("New York today: observed so far against the forecast").wait_for()
    page.get_by_text("market: 60 settled markets").wait_for()
    page.get_by_text("Rain in New York this month").wait_for()      # the Monthly card
    assert page.locator("[data-testid=stVegaLiteChart]:visible").count() == 7
    full_page(page, output / "cities.png")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("tab", name="Trades").click()

    # a trade that turns 61 minutes old now appears on its own, without a reload
    mia = world["today"][("MIA", "low")][0]
    public_world.fill(db, "late-mia", mia, "61 minutes", price=0.07, count=3)
    words = db.admin.execute("select words from analytics.v_market_words where ticker = %s", (mia,)).fetchone()[0]
    page.get_by_text(words).or_(page.locator("table", has_text=words)).first.wait_for(state="attached", timeout=30_000)
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == 1


def test_a_phone_sees_every_city(db, site, browser, output):
    public_world.populate(db)
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True)
    render(page, site)
    body = page.inner_text("body")
    assert all(name in body for name in public_world.CITY_NAMES)
    overflow = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollWidth")
    assert overflow <= 390, f"wider than the phone: {overflow}px"        # no sideways scrolling
    full_page(page, output / "phone.png")


@pytest.mark.serial   # its loaded and unloaded visits are minutes apart: alone, so both see the same machine
def test_ten_hostile_sockets_from_ten_addresses_do_not_stall_a_visitor(db, site, browser):
    """Issue 26 §1: ten sockets from ten addresses, each asking Streamlit for a full run every 0.1 s, once
    stalled every visitor's page for minutes. Behind the WebSocket guard a visitor's first render stays
    within twice its unloaded time (medians of three visits each, measured here, on this machine, so a
    slow machine slows both alike), and the attackers get their budget of runs, not what they ask for."""
    import statistics
    import time
    from fakes.hostile_ws import HOSTILE_SOCKETS as HOSTILE, Hostile
    public_world.populate(db)
    assert build(SETTINGS, dbname=db.name, quiet=True) == 0

    def visit() -> float:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        t0 = time.perf_counter()
        render(page, site, equity=True)
        took = time.perf_counter() - t0
        page.close()
        return took
    visit()                                                   # the page's data is cached from here on
    unloaded = statistics.median(visit() for _ in range(3))
    ws_url = site.replace("http://", "ws://") + "_stcore/stream"
    with Hostile(ws_url) as hostile:
        hostile.wait_open(HOSTILE)
        t0 = time.perf_counter()
        loaded = statistics.median(visit() for _ in range(3))
        attacked_s = time.perf_counter() - t0
    print(f"unloaded {unloaded:.2f} s, with {HOSTILE} hostile sockets {loaded:.2f} s; the attackers asked for "
          f"{hostile.asked} runs and had {hostile.finished} in {attacked_s:.0f} s")
    assert hostile.open == HOSTILE and hostile.asked > 10 * HOSTILE
    assert loaded <= 2 * unloaded, (loaded, unloaded)
    # each address: its burst of 8, then one run every 20 s; a finished run needs a run asked for
    assert hostile.finished <= HOSTILE * (8 + attacked_s / 20 + 1), (hostile.finished, hostile.asked, attacked_s)
