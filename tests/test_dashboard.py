"""The dashboard (Streamlit AppTest) against the real public API (PostgREST + nginx) filled with known
rows: every tab, an empty database, an API that is down from the start, and one that goes down after
good data. Plus: the dashboard reads only the public API."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import public_world
from conftest import SETTINGS
from milkbot.analytics import build
from test_dashboard_api import halt_an_hour_ago

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture
def dashboard(monkeypatch):
    """An AppTest of the app with empty caches, pointed at `url`."""
    from dashboard import data

    def make(url: str) -> AppTest:
        monkeypatch.setenv("MILKBOT_PUBLIC_API_URL", url)
        data.forget()
        return AppTest.from_file(APP, default_timeout=60)
    yield make
    data.forget()


def text(node) -> str:
    """All text a tab shows: markdown, captions, alerts, metrics and table cells."""
    parts = [m.value for m in node.markdown] + [c.value for c in node.caption]
    for kind in ("info", "warning", "error", "success"):
        parts += [e.value for e in getattr(node, kind)]
    parts += [f"{m.label}: {m.value}" for m in node.metric]
    parts += [df.value.to_string() for df in node.dataframe]
    return "\n".join(parts)


def tabs(at: AppTest) -> dict:
    assert not at.exception, [e.value for e in at.exception]
    return {t.label: t for t in at.tabs}


def charts(node) -> int:
    return len(node.get("vega_lite_chart"))


def test_every_tab_against_a_populated_api(db, api, dashboard):
    world = public_world.populate(db, trades=30)
    assert build(SETTINGS, dbname=db.name, quiet=True) == 0          # headline, equity
    at = dashboard(api.url).run()
    t = tabs(at)
    assert list(t) == ["Overview", "Trades", "Cities", "Health", "About"]
    overview = text(t["Overview"])
    for name in public_world.CITY_NAMES:
        assert name in overview, name
    assert "high: favours 52–53 °F at 42 %; market 38¢ bid / 41¢ ask · **holding**" in overview
    assert "Trades: 31" in overview and "Win rate · 120 settled" in overview and "Brier score · 120 settled" in overview
    assert "P&L: realised" in overview and "marked (open positions)" in overview and "fees $" in overview
    assert "120 settled markets." in overview                         # enough to say so without a warning
    assert charts(t["Overview"]) == 1                                 # equity and drawdown
    assert not at.warning and not at.error                            # nothing stale, nothing halted, API up
    assert "warming up" not in overview                               # the cycle has reported

    trades = t["Trades"].dataframe[0].value
    assert len(trades) == 25 and trades.iloc[0]["Market"] == world["old_words"] and trades.iloc[0]["Price"] == "38¢"
    assert list(trades.columns) == ["Time", "City", "Market", "Side", "Price", "Contracts"]
    at.button(key="trades_older").click().run()
    page2 = tabs(at)["Trades"].dataframe[0].value
    assert len(page2) == 6 and "Page 2" in text(tabs(at)["Trades"])
    assert "89¢" not in trades.to_string() + page2.to_string()      # the 59-minute-old NO at 11¢ YES is not there
    assert at.button(key="trades_older").disabled
    at.button(key="trades_newer").click().run()
    assert tabs(at)["Trades"].dataframe[0].value.iloc[0]["Market"] == world["old_words"]

    cities = tabs(at)["Cities"]
    # today so far + 4 ladders (today/tomorrow x high/low) + the month's rain + model against market
    assert charts(cities) == 7
    assert "So far **1.23 in** through" in text(cities) and "the normal to that day is 1.50 in" in text(cities)
    assert "model: 60 settled markets, Brier" in text(cities) and "market: 60 settled markets, Brier" in text(cities)
    assert "New York today: observed so far against the forecast" in text(cities)
    assert cities.selectbox(key="city").options[:3] == ["Austin (AUS)", "Boston (BOS)", "Chicago (CHI)"]   # by name
    at.selectbox(key="city").set_value("AUS").run()
    cities = tabs(at)["Cities"]
    assert charts(cities) == 5 and "No settled markets with a model probability yet." in text(cities)

    health = text(tabs(at)["Health"])
    assert "Order placement" in health and "working" in health and "Weather data per city" in health
    assert "No settled market to compare yet." in health             # the world settles no Kalshi value
    about = text(tabs(at)["About"])
    assert "60 minutes late" in about and "Nothing here is advice" in about


def test_an_empty_database(api, dashboard):
    at = dashboard(api.url).run()
    t = tabs(at)
    overview = text(t["Overview"])
    assert all(name in overview for name in public_world.CITY_NAMES)
    assert "no forecast yet" in overview and "Trades: 0" in overview and "No equity history yet" in overview
    assert "Weather data are out of date for" in overview               # true: there is no weather data at all
    assert "Milkbot is warming up" in overview                          # the first pass has not reported yet
    assert "No trades to show yet" in text(t["Trades"])
    assert "No open markets for this city right now." in text(t["Cities"])
    assert "not responding" in text(t["Health"])                       # nothing has reported a heartbeat


def test_an_api_that_is_down_from_the_start(dashboard):
    from fakes.ports import free_ports
    at = dashboard(f"http://127.0.0.1:{free_ports(1)[0]}/v1").run()
    t = tabs(at)                                                        # no exception, no traceback
    overview = text(t["Overview"])
    assert "The data service is not answering right now. No data received yet." in overview
    assert all(name in overview for name in public_world.CITY_NAMES)  # the grid's frame still shows
    for label in ("Trades", "Cities", "Health"):
        assert "not answering" in text(t[label]), label
    assert "Connection" not in overview and "Traceback" not in overview and "httpx" not in overview


def test_an_api_that_goes_down_keeps_the_last_good_data(db, api, dashboard):
    from dashboard import data
    world = public_world.populate(db)
    at = dashboard(api.url).run()
    assert world["old_words"] in text(tabs(at)["Trades"])
    api.stop()
    data._cached.clear()                                                # the cache's TTL has run out
    at.run()
    t = tabs(at)
    assert world["old_words"] in text(t["Trades"])                     # the last good rows...
    assert "not answering right now. Showing the last data received. (received" in text(t["Trades"])  # ...said to be old
    assert "52–53 °F at 42 %" in text(t["Overview"])


def test_a_halt_an_hour_ago_shows_a_banner(db, api, dashboard):
    halt_an_hour_ago(db)
    at = dashboard(api.url).run()
    tabs(at)
    assert any("Trading is halted" in e.value for e in at.error)


ALLOWED = {"streamlit", "altair", "pandas", "httpx", "dashboard", "__future__", "logging", "os",
           "threading", "dataclasses", "datetime", "decimal", "time", "collections", "starlette", "asyncio", "functools", "json"}


def test_the_dashboard_reads_only_the_public_api():
    """No database driver, no workers, nothing of milkbot but its clock; no database or Kalshi settings."""
    for path in (ROOT / "dashboard").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [f"{node.module}.{a.name}" for a in node.names] if isinstance(node, ast.ImportFrom) and node.level == 0
                     else [])
            for name in names:
                assert name.split(".")[0] in ALLOWED or name.startswith("milkbot.clock"), (path.name, name)
        assert "DATABASE" not in path.read_text() and "KALSHI" not in path.read_text(), path.name
