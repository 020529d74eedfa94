"""One ingest pass against the local fakes, the dedup of unchanged passes, and every injected fault
ending in a recorded event and no bad row."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
import yaml

from fakes.harness import NOW
from workers.ingest.main import Ingest


def run_pass(db, fakes, signed=False, now=NOW, **kw):
    n, k = fakes.clients(signed=signed)
    conn = db.connect("milkbot_ingest", autocommit=False)
    try:
        return Ingest(fakes.settings, conn, n, k, now=lambda: now).run_once(**kw)
    finally:
        n.close(), k.close()


def counts(db) -> dict:
    return dict(zip(("weather", "forecasts", "observations", "reports", "books", "markets"), db.admin.execute(
        """select (select count(*) from ops.weather_snapshots), (select count(*) from ops.forecasts),
                  (select count(*) from ops.observations), (select count(*) from ops.climate_reports),
                  (select count(*) from ops.market_snapshots), (select count(*) from ops.markets)""").fetchone()))


def errors(db) -> list[tuple]:
    return db.admin.execute("select url, http_status, error from ops.v_ingest_errors").fetchall()


def test_one_pass_fills_the_operator_views_for_all_cities(db, fakes):
    report = run_pass(db, fakes)
    assert report.errors == 0 and errors(db) == []
    q = db.admin.execute
    assert q("select count(distinct city) from ops.v_latest_forecast where not is_stale").fetchone()[0] == 10
    assert q("select count(distinct city) from ops.v_observed_extremes where climate_date = %s", (NOW.date(),)).fetchone()[0] == 10
    assert q("select count(distinct city) from ops.v_climate_reports where is_final").fetchone()[0] == 10
    assert q("select count(*), count(yes_bid), count(yes_ask) from ops.v_market_quotes").fetchone() == (240, 240, 240)
    assert q("select count(*) from ops.nws_grids").fetchone()[0] == 10
    # the forecast matches the fake's world, on the right climate day, with its grid
    nyc = fakes.world
    from milkbot.sim.world import BY_CODE
    tomorrow, yesterday = NOW.date() + timedelta(days=1), NOW.date() - timedelta(days=1)
    row = q("""select forecast_f, grid from ops.v_latest_forecast
                where city = 'NYC' and climate_date = %s and kind = 'high' and source = 'gridpoint'""", (tomorrow,)).fetchone()
    assert row == (nyc.high(BY_CODE["NYC"], tomorrow), "OKX/34,45")
    # the CLI final for yesterday is the world's value
    assert q("select value_f from ops.v_climate_reports where city = 'CHI' and climate_date = %s and kind = 'low' and is_final",
             (yesterday,)).fetchone()[0] == nyc.low(BY_CODE["CHI"], yesterday)
    assert q("select count(*) from ops.health_status where component in ('nws_ingest', 'kalshi_ingest', 'cycle') and last_ok_at is not null").fetchone()[0] == 3
    assert report.cycle["markets"] == 240 and report.cycle["signals"] == 240


def test_an_unchanged_second_pass_writes_nothing(db, fakes):
    run_pass(db, fakes)
    before = counts(db)
    report = run_pass(db, fakes)
    assert counts(db) == before and report.snapshots == 0 and report.books == 0 and report.errors == 0
    # the raw grid was asked with If-Modified-Since and answered 304
    assert report.requests < 411


def test_a_changed_book_is_a_new_snapshot(db, fakes):
    run_pass(db, fakes, weather=False, cycle=False)
    before = counts(db)["books"]
    original, target = fakes.world.quote, fakes.ticker()

    def moved(ticker, b):   # one bracket's book moves by a cent
        bid, ask = original(ticker, b)
        return (bid - Decimal("0.01"), ask - Decimal("0.01")) if ticker == target else (bid, ask)
    fakes.world.quote = moved
    run_pass(db, fakes, weather=False, cycle=False, now=NOW + timedelta(minutes=1))
    changed = [t for t in db.admin.execute("select ticker from ops.market_snapshots group by ticker having count(*) > 1").fetchall()]
    assert counts(db)["books"] == before + len(changed) and changed == [(target,)]


def test_transient_500_is_retried(db, fakes):
    fakes.nws.fault("500", r"^/gridpoints/OKX/34,45$", times=1)
    report = run_pass(db, fakes, markets=False, cycle=False)
    assert report.errors == 0
    assert sum(1 for m, p in fakes.nws.requests if p == "/gridpoints/OKX/34,45") == 2


def test_persistent_500_is_recorded_and_skipped(db, fakes):
    fakes.nws.fault("500", r"^/gridpoints/OKX/34,45$", times=None)
    run_pass(db, fakes, markets=False, cycle=False)
    [(url, status, error)] = errors(db)
    assert url.endswith("/gridpoints/OKX/34,45") and status == 500 and "server error" in error
    q = db.admin.execute
    assert q("select count(*) from ops.forecasts where city_code = 'NYC' and source = 'gridpoint'").fetchone()[0] == 0
    assert q("select count(*) from ops.forecasts where city_code = 'NYC' and source = 'forecast_12h'").fetchone()[0] > 0
    assert q("select count(distinct city_code) from ops.forecasts where source = 'gridpoint'").fetchone()[0] == 9
    assert q("select error_count from ops.health_status where component = 'nws_ingest'").fetchone()[0] == 1


def test_grid_expired_is_an_outage_not_retried_hot(db, fakes):
    fakes.nws.fault("503_grid_expired", r"^/gridpoints/OKX/34,45$", times=None)
    run_pass(db, fakes, markets=False, cycle=False)
    [(url, status, error)] = errors(db)
    assert status == 503 and error.startswith("outage:") and "Forecast Grid Expired" in error
    assert sum(1 for m, p in fakes.nws.requests if p == "/gridpoints/OKX/34,45") == 1


def test_429_backs_off_and_succeeds(db, fakes):
    fakes.kalshi.fault("429", r"/markets$", times=2)
    report = run_pass(db, fakes, weather=False, cycle=False)
    assert report.errors == 0 and report.markets == 240


@pytest.mark.parametrize("kind, path, expect", [
    ("timeout", r"^/gridpoints/OKX/34,45/forecast$", "timeout"),
    ("drop", r"^/gridpoints/OKX/34,45/forecast$", "connection failed"),
    ("malformed", r"^/gridpoints/OKX/34,45/forecast$", "malformed JSON"),
])
def test_broken_replies_are_recorded(db, fakes, kind, path, expect):
    fakes.nws.fault(kind, path, times=None, delay=1.5)
    run_pass(db, fakes, markets=False, cycle=False)
    errs = errors(db)
    assert len(errs) == 1 and expect in errs[0][2] and errs[0][0].endswith("/forecast")
    assert db.admin.execute("select count(*) from ops.forecasts where city_code = 'NYC' and source = 'forecast_12h'").fetchone()[0] == 0


def test_malformed_orderbook_is_recorded_and_others_land(db, fakes):
    target = fakes.ticker()
    fakes.kalshi.fault("malformed", rf"/markets/{target}/orderbook$", times=None)
    run_pass(db, fakes, weather=False, cycle=False)
    [(url, status, error)] = errors(db)
    assert target in url and "malformed JSON" in error
    assert counts(db)["books"] == 239


def test_stale_forecast_is_stored_marked_and_reported(db, fakes):
    fakes.nws.fault("stale", r"^/gridpoints/OKX/34,45", times=None)
    report = run_pass(db, fakes)
    q = db.admin.execute
    assert q("select bool_and(is_stale) from ops.weather_snapshots where city_code = 'NYC' and source in ('nws_gridpoint', 'nws_forecast', 'nws_hourly')").fetchone()[0]
    assert q("select count(*) from ops.health_events where component = 'nws_ingest' and level = 'warning' and message like 'NYC nws_gridpoint is stale%'").fetchone()[0] == 1
    assert q("select count(*) from ops.v_latest_forecast where city = 'NYC' and not is_stale").fetchone()[0] == 0
    # the cycle saw no usable NYC forecast: no NYC intents, and it says why
    assert q("select count(*) from ops.orders where ticker like 'KXHIGHNY-%' or ticker like 'KXLOWTNYC-%'").fetchone()[0] == 0
    assert "NYC" in report.cycle["stale_cities"]


def test_null_temperatures_write_no_rows(db, fakes):
    fakes.nws.fault("null_temps", r"^/(gridpoints/OKX/34,45|stations/KNYC/observations)", times=None)
    run_pass(db, fakes, markets=False, cycle=False)
    q = db.admin.execute
    assert q("select count(*) from ops.forecasts where city_code = 'NYC'").fetchone()[0] == 0
    assert q("select count(*) from ops.observations where city_code = 'NYC'").fetchone()[0] == 0
    assert q("select count(*) from ops.observations where city_code = 'BOS'").fetchone()[0] > 0


def test_signed_batch_orderbooks_and_bad_signatures(db, fakes):
    report = run_pass(db, fakes, signed=True, weather=False, cycle=False)
    assert report.errors == 0 and report.books == 240
    assert sum(1 for m, p in fakes.kalshi.requests if p.endswith("/markets/orderbooks")) == 3   # 240 tickers, 100 a batch
    r = httpx.get(f"{fakes.kalshi_url}/markets/orderbooks", params={"tickers": fakes.ticker()},
                  headers={"KALSHI-ACCESS-KEY": "x", "KALSHI-ACCESS-TIMESTAMP": "1", "KALSHI-ACCESS-SIGNATURE": "AAAA"})
    assert r.status_code == 401


def test_points_with_too_many_decimals_redirect(fakes):
    r = httpx.get(f"{fakes.nws_url}/points/40.78333,-73.96667")
    assert r.status_code == 301 and r.headers["Location"] == "/points/40.7833,-73.9667"


def _validate(shared, fragment: str, schema: str, body):
    import jsonschema
    doc = yaml.safe_load((shared / "kalshi-openapi" / fragment).read_text())
    jsonschema.Draft7Validator({"$ref": f"#/components/schemas/{schema}", "components": doc["components"]}).validate(body)


def test_fake_exchange_replies_match_the_openapi_fragments(fakes, shared_data):
    base = fakes.kalshi_url
    _validate(shared_data, "market__get-markets.yaml", "GetMarketsResponse",
              httpx.get(f"{base}/markets", params={"series_ticker": "KXHIGHNY", "status": "open"}).json())
    _validate(shared_data, "market__get-market-orderbook.yaml", "GetMarketOrderbookResponse",
              httpx.get(f"{base}/markets/{fakes.ticker()}/orderbook").json())
    _validate(shared_data, "market__get-series.yaml", "GetSeriesResponse", httpx.get(f"{base}/series/KXHIGHNY").json())


def test_unchanged_polls_keep_data_fresh_without_new_rows(db, fakes):
    """An unchanged book or a 304 grid writes no row but moves last_seen_at, so the cycle's staleness
    gate sees the data as confirmed current rather than hours old."""
    run_pass(db, fakes, cycle=False)
    later = NOW + timedelta(hours=3)
    fakes.world.now_fixed = NOW        # the fake's content stays the same
    before = counts(db)
    run_pass(db, fakes, now=later, cycle=False)
    assert counts(db) == before
    q = db.admin.execute
    assert q("select count(*) from ops.market_snapshots where last_seen_at = %s", (later,)).fetchone()[0] == 240
    assert q("select count(*) from ops.weather_snapshots where source = 'nws_gridpoint' and last_seen_at = %s", (later,)).fetchone()[0] == 10
    stale = q("select count(*) from ops.evaluate_markets(%s) where not (gates->'staleness'->>'pass')::boolean", (later,)).fetchone()[0]
    assert stale == 0


def test_a_grid_that_answers_404_is_re_resolved(db, fakes):
    run_pass(db, fakes, markets=False, cycle=False)
    points_before = sum(1 for m, p in fakes.nws.requests if p.startswith("/points/"))
    fakes.nws.fault("404", r"^/gridpoints/OKX/34,45/forecast$", times=1)
    report = run_pass(db, fakes, markets=False, cycle=False, now=NOW + timedelta(minutes=5))
    assert report.errors == 0 and errors(db) == []
    assert sum(1 for m, p in fakes.nws.requests if p.startswith("/points/")) == points_before + 1
    assert db.admin.execute("select resolved_at from ops.nws_grids where city_code = 'NYC'").fetchone()[0] == NOW + timedelta(minutes=5)
