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
    # the raw grids were asked with If-Modified-Since and answered 304 (no body to dedup at all) ...
    grids = [st for m, p, st in fakes.nws.answered if p.startswith("/gridpoints/") and p.count("/") == 3]
    assert grids[:10] == [200] * 10 and grids[10:] == [304] * 10
    # ... while the 12-h and hourly forecasts came back 200 with the same content: deduplicated by hash
    forecasts = [st for m, p, st in fakes.nws.answered if p.endswith("/forecast") or p.endswith("/forecast/hourly")]
    assert forecasts == [200] * 40


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


def test_a_key_the_exchange_refuses_is_recorded_and_writes_no_books(db, fakes):
    """Our signer with a key the exchange does not know: every batch answers 401; each is a recorded
    ingest error, no book row is written, and the markets themselves (public) still land."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from workers.common.kalshi_auth import KalshiSigner
    from workers.ingest.sources import kalshi_client, nws_client
    stranger = KalshiSigner("unknown-key", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    n, k = nws_client(fakes.settings), kalshi_client(fakes.settings, signer=stranger)
    report = Ingest(fakes.settings, db.connect("milkbot_ingest", autocommit=False), n, k, now=lambda: NOW).run_once(weather=False, cycle=False)
    assert report.books == 0 and report.markets == 240 and report.errors == 3
    assert db.admin.execute("select count(*) from ops.market_snapshots").fetchone()[0] == 0
    assert db.admin.execute("select count(*), min(http_status), max(http_status) from ops.v_ingest_errors where url like '%orderbook%'").fetchone() == (3, 401, 401)


def test_points_are_asked_with_four_decimals(db, fakes):
    """NWS answers /points with more than four decimals with a 301 (which we do not follow): the ingest
    rounds the city's coordinates first, so the grid resolves without a redirect."""
    db.admin.execute("update ops.cities set latitude = 40.783333, longitude = -73.966667 where code = 'NYC'")
    report = run_pass(db, fakes, markets=False, cycle=False)
    assert report.errors == 0
    points = [(p, st) for m, p, st in fakes.nws.answered if p.startswith("/points/")]
    assert ("/points/40.7833,-73.9667", 200) in points and all(st == 200 for _, st in points)


def _response_schema(shared, fragment: str, status: int) -> dict:
    """The JSON schema a fragment's one endpoint declares for `status` (inline or by reference)."""
    doc = yaml.safe_load((shared / "kalshi-openapi" / fragment).read_text())
    [ops] = doc["paths"].values()
    [op] = ops.values()
    resp = op["responses"][str(status)]
    if "$ref" in resp:                                    # '#/components/responses/X'
        resp = doc["components"]["responses"][resp["$ref"].split("/")[-1]]
    return _openapi_nullable({**resp["content"]["application/json"]["schema"], "components": doc.get("components", {})})


def _openapi_nullable(node):
    """OpenAPI 3.0's `nullable: true` in JSON Schema terms: null is allowed too."""
    if isinstance(node, list):
        return [_openapi_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi_nullable(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


def _validate(shared, fragment: str, status: int, reply) -> None:
    import jsonschema
    assert reply.status == status, (fragment, reply.status, reply.body[:300])
    jsonschema.Draft7Validator(_response_schema(shared, fragment, status)).validate(reply.json())


def test_fake_exchange_replies_match_the_openapi_fragments(fakes, shared_data):
    """Every endpoint the fake exchange serves, public and signed, success and error, against the
    recorded OpenAPI fragment of that endpoint."""
    from workers.common.http import Client, HttpError
    c = Client(fakes.kalshi_url, {"Accept": "application/json"}, timeout=5, attempts=1, signer=fakes.signer())
    t = fakes.ticker()
    bid, ask = fakes.world.quote(t, fakes.world.find_bracket(t)[3])
    order = {"ticker": t, "side": "bid", "count": "3.00", "price": f"{ask:.4f}", "client_order_id": "mb-openapi-check-1",
             "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"}
    resting = {**order, "price": f"{bid:.4f}", "client_order_id": "mb-openapi-check-2"}
    _validate(shared_data, "exchange__get-exchange-status.yaml", 200, c.get("/exchange/status"))
    _validate(shared_data, "market__get-series.yaml", 200, c.get("/series/KXHIGHNY"))
    _validate(shared_data, "market__get-markets.yaml", 200, c.get("/markets", params={"series_ticker": "KXHIGHNY", "status": "open"}))
    _validate(shared_data, "market__get-market.yaml", 200, c.get(f"/markets/{t}"))
    _validate(shared_data, "market__get-market-orderbook.yaml", 200, c.get(f"/markets/{t}/orderbook"))
    _validate(shared_data, "market__get-multiple-market-orderbooks.yaml", 200,
              c.get("/markets/orderbooks", params={"tickers": f"{t},{fakes.ticker(i=3)}"}, sign=True))
    _validate(shared_data, "orders__create-order-v2.yaml", 201,
              c.request("POST", "/portfolio/events/orders", json=order, ok=(201,), sign=True))
    rest = c.request("POST", "/portfolio/events/orders", json=resting, ok=(201,), sign=True)
    _validate(shared_data, "orders__create-order-v2.yaml", 201, rest)
    _validate(shared_data, "orders__get-orders.yaml", 200, c.get("/portfolio/orders", sign=True))
    _validate(shared_data, "portfolio__get-fills.yaml", 200, c.get("/portfolio/fills", sign=True))
    _validate(shared_data, "portfolio__get-positions.yaml", 200, c.get("/portfolio/positions", sign=True))
    _validate(shared_data, "portfolio__get-balance.yaml", 200, c.get("/portfolio/balance", sign=True))
    _validate(shared_data, "orders__cancel-order-v2.yaml", 200,
              c.request("DELETE", f"/portfolio/events/orders/{rest.json()['order_id']}", ok=(200,), sign=True))
    # the error bodies our executor reads (409 duplicate, 400 bad price) have the declared shape too
    for body, status in ((order, 409), ({**order, "client_order_id": "mb-openapi-check-3", "price": "0.2250"}, 400)):
        with pytest.raises(HttpError) as err:
            c.request("POST", "/portfolio/events/orders", json=body, ok=(201,), sign=True)
        import jsonschema
        assert err.value.status == status
        jsonschema.Draft7Validator(_response_schema(shared_data, "orders__create-order-v2.yaml", status)).validate(json.loads(err.value.body))


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
    stale = q("select ticker, reason, gates->'model' from ops.evaluate_markets(%s) where not (gates->'staleness'->>'pass')::boolean", (later,)).fetchall()
    assert stale == [], stale[:3]


def test_a_grid_that_answers_404_is_re_resolved(db, fakes):
    run_pass(db, fakes, markets=False, cycle=False)
    points_before = sum(1 for m, p in fakes.nws.requests if p.startswith("/points/"))
    fakes.nws.fault("404", r"^/gridpoints/OKX/34,45/forecast$", times=1)
    report = run_pass(db, fakes, markets=False, cycle=False, now=NOW + timedelta(minutes=5))
    assert report.errors == 0 and errors(db) == []
    assert sum(1 for m, p in fakes.nws.requests if p.startswith("/points/")) == points_before + 1
    assert db.admin.execute("select resolved_at from ops.nws_grids where city_code = 'NYC'").fetchone()[0] == NOW + timedelta(minutes=5)


def _nws_schema(shared, path: str, accept: str = "application/geo+json") -> dict:
    doc = yaml.safe_load((shared / "nws-openapi.yaml").read_text())
    resp = doc["paths"][path]["get"]["responses"]["200"]
    if "$ref" in resp:
        resp = doc["components"]["responses"][resp["$ref"].split("/")[-1]]
    content = resp["content"]
    schema = (content.get(accept) or content.get("application/ld+json") or next(iter(content.values())))["schema"]
    # The real forecast periods carry probabilityOfPrecipitation (and the hourly ones dewpoint and
    # relativeHumidity: recordings/nws/NYC_forecast*.json), which this copy of the spec does not list yet.
    # The recordings win: those properties are allowed, nothing else is.
    period = doc["components"]["schemas"]["GridpointForecastPeriod"]["properties"]
    for extra in ("probabilityOfPrecipitation", "dewpoint", "relativeHumidity"):
        period.setdefault(extra, {"$ref": "#/components/schemas/QuantitativeValue"})
    return _openapi_nullable({**schema, "components": doc["components"]})


@pytest.mark.parametrize("spec_path, path, accept", [
    ("/points/{point}", "/points/40.7833,-73.9667", "application/geo+json"),
    ("/gridpoints/{wfo}/{x},{y}", "/gridpoints/OKX/34,45", "application/geo+json"),
    ("/gridpoints/{wfo}/{x},{y}/forecast", "/gridpoints/OKX/34,45/forecast", "application/geo+json"),
    ("/gridpoints/{wfo}/{x},{y}/forecast/hourly", "/gridpoints/OKX/34,45/forecast/hourly", "application/geo+json"),
    ("/stations/{stationId}/observations", "/stations/KNYC/observations", "application/geo+json"),
    ("/products/types/{typeId}/locations/{locationId}", "/products/types/CLI/locations/NYC", "application/ld+json"),
])
def test_fake_nws_replies_match_the_openapi(fakes, shared_data, spec_path, path, accept):
    import jsonschema
    r = httpx.get(fakes.nws_url + path, headers={"Accept": accept})
    assert r.status_code == 200
    jsonschema.Draft7Validator(_nws_schema(shared_data, spec_path, accept)).validate(r.json())
    if spec_path.startswith("/products/types"):                    # and one product from the listing
        pid = r.json()["@graph"][0]["id"]
        p = httpx.get(f"{fakes.nws_url}/products/{pid}", headers={"Accept": "application/ld+json"})
        jsonschema.Draft7Validator(_nws_schema(shared_data, "/products/{productId}", "application/ld+json")).validate(p.json())


def test_settlements_are_discovered_after_close(db, fakes):
    """Markets past their close are re-read one by one until Kalshi reports them finalized: a settled
    one is stored with its result, one still awaiting settlement stays open for the next pass."""
    run_pass(db, fakes, weather=False, cycle=False)
    winner, pending = fakes.ticker(i=2), fakes.ticker(i=3)          # today's NYC high ladder
    close = db.admin.execute("select close_time from ops.markets where ticker = %s", (winner,)).fetchone()[0]
    fakes.kalshi.settled[winner] = "yes"
    fakes.world.now_fixed = close + timedelta(hours=2)                 # the exchange's clock moves past the close
    fakes.nws.requests.clear(), fakes.kalshi.requests.clear()
    report = run_pass(db, fakes, weather=False, cycle=False, now=close + timedelta(hours=2))
    assert report.errors == 0
    rows = dict(db.admin.execute("select ticker, (status, result) from ops.markets where ticker in (%s, %s)", (winner, pending)).fetchall())
    assert rows[winner] == ("finalized", "yes")
    assert rows[pending][0] != "finalized" and rows[pending][1] in (None, "")
    reads = [p for m, p in fakes.kalshi.requests if p.endswith(f"/markets/{winner}") or p.endswith(f"/markets/{pending}")]
    assert len(reads) == 2                                            # each market past close read once
    # the next pass reads only what is still open
    fakes.kalshi.requests.clear()
    run_pass(db, fakes, weather=False, cycle=False, now=close + timedelta(hours=3))
    assert not any(p.endswith(f"/markets/{winner}") for m, p in fakes.kalshi.requests)
    assert any(p.endswith(f"/markets/{pending}") for m, p in fakes.kalshi.requests)


def test_a_pass_feeds_the_model_the_calibration_and_the_settlement_rules(db, fakes):
    """Hourly temperatures hour by hour, METAR tenths, the series' settlement source and rules; the cycle
    re-fits the calibration by itself (the fake serves CLI finals) and records what the model used."""
    report = run_pass(db, fakes)
    assert report.errors == 0, errors(db)
    later = NOW + timedelta(days=2)        # two days on: the forecasts held at two decision points meet their finals
    fakes.world.now_fixed = later
    assert run_pass(db, fakes, now=later).errors == 0, errors(db)
    q = lambda s, *a: db.admin.execute(s, a).fetchone()  # noqa: E731
    assert q("select count(distinct city_code) from ops.hourly_temps")[0] == 10
    assert q("select count(*) filter (where precision = 'tenths') = count(*) from ops.observations")[0]
    assert q("select count(*) from ops.observations where max6h_f is not null")[0] > 0
    assert q("select bool_and(settlement_sources->0->>'name' = 'The Weather Company' and rules_primary like '%%according to The Weather Company%%') from ops.markets")[0]
    assert q("select count(*) from ops.series_rules")[0] == 20 and q("select count(*) from ops.risk_events where kind like 'settlement%%'")[0] == 0
    fitted = q("""select count(*), min(known_at), bool_and(not is_prior), min(n) from (
                    select distinct on (city_code, lead_days) * from ops.model_calibration
                     where kind = 'high' and known_at <= %s order by city_code, lead_days, known_at desc) f
                   where lead_days = 0""", later)
    assert fitted[:3] == (10, later, True) and fitted[3] >= 1, fitted
    model = q("""select gates->'model'->>'source', gates->'model'->>'note' from ops.signals
                  where ticker like 'KXHIGHNY-%%' order by as_of desc, ticker limit 1""")
    assert model[0] == "forecast_12h" and "fit n=" in model[1], model


def test_a_failed_cycle_is_an_error_a_health_event_and_a_failed_pass(db, fakes):
    """A cycle that fails as a whole (here: a book the database refuses to trade, an unknown mode) is not
    `cycle: None` and exit 0: the pass counts an error (so `ingest --once` exits 1), the cycle's health is
    down and an error health event says why."""
    import dataclasses
    fakes.settings = dataclasses.replace(fakes.settings, mode="bogus")
    report = run_pass(db, fakes, weather=False)
    assert report.cycle and "run_cycle failed" in report.cycle["failed"], report.cycle
    assert report.errors >= 1
    assert db.admin.execute("""select count(*) from ops.health_events
                                where component = 'cycle' and level = 'error' and message like 'run_cycle failed%%'""").fetchone()[0] == 1


def test_an_unreachable_host_is_one_line_with_its_real_cause_and_a_hint(db, fakes):
    """Offline, every request fails: the pass says so once per host with the cause (here: refused), not
    once per request, and points at the offline demo."""
    import dataclasses
    from fakes.ports import free_ports
    dead = free_ports(1)[0]                                          # nothing listens there
    fakes.settings = dataclasses.replace(fakes.settings, nws_base_url=f"http://127.0.0.1:{dead}",
                                         extra={**fakes.settings.extra, "MILKBOT_HTTP_ATTEMPTS": "1"})
    report = run_pass(db, fakes, markets=False, cycle=False)
    lines = report.failure_lines(offline_hint=True)
    assert report.errors >= 10 and len(lines) == 2, lines            # one host, and the hint
    assert lines[0].startswith(f"ingest: 127.0.0.1:{dead}: {report.errors} request(s) failed: connection failed: connection refused")
    assert "MILKBOT_SIM=1 make run" in lines[1]


def test_ctrl_c_stops_ingest_between_two_requests(db, fakes):
    """SIGINT while a pass is under way: no request starts after it, `ingest: stopped`, exit 0. The
    signal is sent by the fake server when a request reaches it (an event), not after a sleep."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path
    from fakes.waiting import wait_for
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILKBOT_")}
    env.update(MILKBOT_ENV_FILE="/nonexistent", MILKBOT_DB_NAME=db.name, MILKBOT_NWS_BASE_URL=fakes.nws_url,
               MILKBOT_KALSHI_BASE_URL=fakes.kalshi_url, MILKBOT_HTTP_TIMEOUT="5", MILKBOT_CLOCK=NOW.isoformat())
    for k in ("MILKBOT_PG_PORT", "MILKBOT_STATE_DIR", "MILKBOT_DATABASE_URL"):
        if k in os.environ:
            env[k] = os.environ[k]
    proc = subprocess.Popen([str(Path(sys.executable).parent / "milkbot"), "ingest", "--interval", "3600"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen_at_signal = []

    def interrupt(method, path):
        if not seen_at_signal and len(fakes.nws.requests) >= 5:
            seen_at_signal.append(len(fakes.nws.requests) + len(fakes.kalshi.requests))
            proc.send_signal(signal.SIGINT)
    fakes.nws.before.append(interrupt)
    try:
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and out.strip().splitlines()[-1] == "ingest: stopped", out
    assert "Traceback" not in out
    # the request in flight when the signal came is finished; none starts after it
    assert len(fakes.nws.requests) + len(fakes.kalshi.requests) <= seen_at_signal[0] + 1
