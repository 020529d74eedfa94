"""The Analytics API through the real PostgREST and a localhost nginx: the 60-minute delay on both
sides of the boundary, web_anon confined to api by every route, count=exact refused, dbt build on
real fills, and health turning degraded then down."""
from __future__ import annotations

import dataclasses

import httpx
import pytest

from conftest import SETTINGS
from fakes.harness import NOW
from milkbot.analytics import build




def market(db, ticker="KXHIGHNY-26NOV26-B50.5"):
    db.admin.execute("""insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                                                 floor_strike, cap_strike, open_time, close_time, status)
                        values (%s, 'KXHIGHNY-26NOV26', 'KXHIGHNY', 'NYC', '2026-11-26', 'high', 'between', 50, 51,
                                now() - interval '1 day', now() + interval '1 day', 'active') on conflict do nothing""", (ticker,))


def test_trades_appear_only_after_60_minutes(db, api):
    market(db)
    db.admin.execute("""insert into ops.fills (fill_id, exchange_order_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
                        values ('young', 'secret-order-1', 'KXHIGHNY-26NOV26-B50.5', 'bid', 0.40, 3, true, 0.06, now() - interval '59 minutes', 'paper'),
                               ('old',   'secret-order-2', 'KXHIGHNY-26NOV26-B50.5', 'ask', 0.40, 7, true, 0.12, now() - interval '61 minutes', 'paper')""")
    rows = httpx.get(f"{api.url}/trades").json()
    assert rows == [{"traded_at": rows[0]["traded_at"], "city": "NYC", "market": "KXHIGHNY-26NOV26-B50.5",
                     "side": "buy_no", "price": 0.60, "contracts": 7.00, "kind": "high", "climate_date": "2026-11-26",
                     "bracket": "50–51 °F", "words": "NYC high 50–51 °F, Nov 26"}]
    assert "secret-order" not in httpx.get(f"{api.url}/trades").text


@pytest.mark.parametrize("path", ["/orders", "/fills", "/cities", "/risk_limits", "/trading_state", "/v_public_trades",
                                  "/city_metrics", "/schema_migrations", "/q_order_intents", "/meta",
                                  "/rpc/run_cycle", "/rpc/heartbeat", "/rpc/send", "/rpc/read",
                                  "/trades?select=*,orders(*)", "/trades?select=*,fills(*)"])
def test_web_anon_reaches_nothing_outside_api(api, path):
    for base in (api.url, api.postgrest_url):
        r = httpx.get(base + path)
        assert r.status_code in (400, 404), (base, path, r.status_code, r.text)


@pytest.mark.parametrize("profile", ["ops", "analytics", "pgmq", "meta", "public"])
def test_schema_headers_cannot_switch_schema(api, profile):
    assert httpx.get(f"{api.postgrest_url}/orders", headers={"Accept-Profile": profile}).status_code == 406
    # through nginx the header is dropped: the request stays in api
    r = httpx.get(f"{api.url}/trades", headers={"Accept-Profile": profile})
    assert r.status_code == 200 and r.json() == []


def test_writes_and_rpc_posts_are_refused(api):
    r = httpx.post(f"{api.url}/trades", json={"market": "x"})
    assert r.status_code == 405 and r.json() == {"code": "MB405", "message": "only GET and HEAD"}   # nginx
    # PostgREST itself: the view is read-only and web_anon holds SELECT only (Postgres refuses first: 55000)
    r = httpx.post(f"{api.postgrest_url}/trades", json={"market": "x"})
    assert r.status_code >= 400 and r.json()["code"] in ("42501", "55000")
    assert httpx.post(f"{api.postgrest_url}/rpc/run_cycle", json={"p_as_of": "2026-11-25T18:00:00Z"}).status_code == 404


def test_no_openapi_root_and_no_rpc_in_public(api):
    """The OpenAPI root would advertise PostgREST's own host and the pre-request hook: not served."""
    for path in ("/", "/rpc/pre_request", "/rpc/run_cycle"):
        r = httpx.get(api.url + path)
        assert r.status_code == 404 and r.json() == {"code": "MB404", "message": "not found"}, (path, r.text)
    assert "pre_request" not in httpx.get(f"{api.url}/pre_reques").text      # no "perhaps you meant" hints


@pytest.mark.parametrize("prefer", ["count=exact", "count=planned", "count=estimated", "return=minimal, count=exact"])
def test_forced_counts_are_refused(api, prefer):
    # PostgREST behind nginx never sees a Prefer header: no count, whatever was asked
    r = httpx.get(f"{api.url}/trades", headers={"Prefer": prefer})
    assert r.status_code == 200 and r.headers.get("Content-Range", "").endswith("/*")
    # two Prefer headers (PostgREST honours the first, its hook saw only the last): still no count
    r = httpx.get(f"{api.url}/trades", headers=[("Prefer", prefer), ("Prefer", "return=representation")])
    assert r.status_code == 200 and r.headers.get("Content-Range", "").endswith("/*")
    # and PostgREST on its own (loopback only) refuses it through the pre-request hook
    r = httpx.get(f"{api.postgrest_url}/trades", headers={"Prefer": prefer})
    assert r.status_code == 400 and r.json()["code"] == "MB400"


def test_aggregates_are_off(api):
    assert httpx.get(f"{api.url}/trades?select=contracts.sum()").status_code == 400


def test_health_ages_from_ok_to_degraded_to_down(db, api):
    def status():
        return {r["component"]: r["status"] for r in httpx.get(f"{api.url}/health").json()}
    db.admin.execute("update ops.health_status set last_heartbeat = now() - interval '1 minute'")
    assert status()["executor"] == "ok" and status()["all"] == "ok" and status()["database"] == "ok"
    # how recently: whole 5-minute steps only, never the heartbeat's time (it moves with trading)
    rows = {r["component"]: r for r in httpx.get(f"{api.url}/health").json()}
    assert set(rows["executor"]) == {"component", "status", "heard_within_min"}
    assert rows["executor"]["heard_within_min"] == 5 and rows["database"]["heard_within_min"] is None
    db.admin.execute("update ops.health_status set last_heartbeat = now() - interval '6 minutes 1 second' where component = 'cycle'")
    assert {r["component"]: r for r in httpx.get(f"{api.url}/health").json()}["cycle"]["heard_within_min"] == 10
    db.admin.execute("update ops.health_status set last_heartbeat = now() - interval '5 minutes' where component = 'executor'")
    assert status()["executor"] == "degraded" and status()["all"] == "degraded"
    db.admin.execute("update ops.health_status set last_heartbeat = now() - interval '11 minutes' where component = 'executor'")
    assert status()["executor"] == "down" and status()["all"] == "down"
    # a component that reports mostly errors is degraded even with a fresh heartbeat
    db.admin.execute("update ops.health_status set last_heartbeat = now() where component = 'executor'")
    for _ in range(3):
        db.admin.execute("select ops.heartbeat('executor', false, 'boom')")
    assert status()["executor"] == "degraded"


def test_dbt_build_on_real_fills_then_metrics_over_http(db, fakes, api):
    """A scenario with real paper fills: ingest + cycle against the fakes, the paper executor, one
    market settled; then `dbt build` (models and data tests, incl. the equity curve against ops.equity_at)."""
    from workers.executor.brokers import PaperBroker
    from workers.executor.main import Executor
    from workers.ingest.main import Ingest
    n, k = fakes.clients()
    report = Ingest(fakes.settings, db.connect("milkbot_ingest", autocommit=False), n, k, now=lambda: NOW).run_once()
    assert report.cycle["intents"] > 0
    settings = dataclasses.replace(fakes.settings, mode="paper")
    conn = db.connect("milkbot_executor", autocommit=False)
    ex = Executor(settings, conn, PaperBroker(conn), "paper", now=lambda: NOW)
    ex.drain()
    ex.reconcile()
    fills = db.admin.execute("select count(*) from ops.fills").fetchone()[0]
    assert fills > 0
    settled = db.admin.execute("select ticker from ops.fills order by fill_id limit 1").fetchone()[0]
    # settled two hours ago: older than the public cut-off, so it counts in the public metrics
    db.admin.execute("""update ops.markets set status = 'finalized', result = 'yes', expiration_time = now() - interval '2 hours'
                         where ticker = %s""", (settled,))
    assert build(SETTINGS, dbname=db.name, quiet=True) == 0
    q = db.admin.execute
    assert q("select sum(fills) from analytics.city_metrics").fetchone()[0] == fills
    assert q("select count(*) from analytics.strategy_metrics where strategy in ('DailyHigh', 'DailyLow')").fetchone()[0] > 0
    assert q("select count(*) from analytics.equity_curve").fetchone()[0] > 0
    assert q("select realised_pnl <> 0 from analytics.city_metrics where settled_markets > 0").fetchone()[0]
    assert q("select status from analytics.v_current_health where component = 'analytics'").fetchone()[0] == "ok"
    # the public metric views dbt built are served (after the schema-cache reload dbt's run triggered)
    for _ in range(50):
        r = httpx.get(f"{api.url}/metrics")
        if r.status_code == 200:
            break
        __import__("time").sleep(0.1)
    assert r.status_code == 200 and {row["scope"] for row in r.json()} == {"city", "strategy"}
    assert httpx.get(f"{api.url}/equity").status_code == 200


def test_a_dbt_build_is_invisible_to_the_public(db, api):
    """Every public path answers 200 all through two dbt builds (the first replaces the placeholder
    views, the second swaps tables): a view on a mart was dropped with the mart's old copy and
    answered 404 for seconds (issue 26 §5)."""
    import threading
    from public_world import populate
    populate(db, trades=10)
    paths = ["/health", "/trades", "/metrics", "/equity", "/headline", "/status", "/overview", "/ladders", "/calibration",
             "/city_grid"]
    for _ in range(2):
        done, result = threading.Event(), {}
        worker = threading.Thread(target=lambda: (result.setdefault("code", build(SETTINGS, dbname=db.name, quiet=True)), done.set()))
        worker.start()
        seen: dict[str, set] = {p: set() for p in paths}
        polls = 0
        with httpx.Client(timeout=30) as c:
            while not done.is_set() or polls == 0:
                for p in paths:
                    seen[p].add(c.get(api.url + p).status_code)
                polls += 1
        worker.join()
        assert result["code"] == 0
        assert all(codes == {200} for codes in seen.values()), (seen, polls)
        assert polls > 3, polls   # the build was watched, not missed
