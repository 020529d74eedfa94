"""The public boundary over HTTP through the real nginx and PostgREST: nothing derived from fills,
orders, signals or positions younger than 60 minutes reaches any /v1/ path (byte for byte), and no
public request can hurt the system (aliases, double Prefer, Bearer, error text, log growth, health
cost)."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from conftest import SETTINGS
from milkbot.analytics import build

PATHS = ["/health", "/trades", "/metrics", "/equity", "/city_grid", "/overview", "/ladders", "/calibration", "/headline",
         "/reliability", "/observed_today", "/settlement_parity", "/monthly",
         "/status?select=trading_state,trading_state_since"]          # (status's own clock columns move by design)


def today_ladder(db):
    """Two brackets of NYC's current climate day, open, with quotes and a forecast (public data)."""
    day = db.admin.execute("select ops.climate_date(now(), std_utc_offset) from ops.cities where code = 'NYC'").fetchone()[0]
    event = f"KXHIGHNY-{day:%y}{day.strftime('%b').upper()}{day:%d}"
    tickers = [f"{event}-B50.5", f"{event}-B52.5"]
    for t, lo in zip(tickers, (50, 52)):
        db.admin.execute("""insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                                                     floor_strike, cap_strike, open_time, close_time, status)
                            values (%s, %s, 'KXHIGHNY', 'NYC', %s, 'high', 'between', %s, %s,
                                    now() - interval '1 day', now() + interval '1 day', 'active')""", (t, event, day, lo, lo + 1))
        db.admin.execute("""insert into ops.market_snapshots (source, ticker, fetched_at, yes_bid, yes_bid_size, yes_ask, yes_ask_size, content_hash)
                            values ('orderbook', %s, now() - interval '3 hours', 0.30, 10, 0.34, 10, repeat('a', 64))""", (t,))
    month = day.replace(day=1)
    rain = f"KXRAINNYCM-{month:%y}{month.strftime('%b').upper()}-3"
    db.admin.execute("""insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                                                 floor_strike, open_time, close_time, status)
                        values (%s, %s, 'KXRAINNYCM', 'NYC', %s, 'monthly_rain', 'greater', 3,
                                now() - interval '1 day', now() + interval '1 day', 'active')""", (rain, rain[:-2], month))
    db.admin.execute("""insert into ops.market_snapshots (source, ticker, fetched_at, yes_bid, yes_bid_size, yes_ask, yes_ask_size, content_hash)
                        values ('orderbook', %s, now() - interval '3 hours', 0.40, 10, 0.44, 10, repeat('a', 64))""", (rain,))
    return tickers + [rain]


def fill(db, fill_id, ticker, age, count=5, side="bid"):
    db.admin.execute("""insert into ops.fills (fill_id, exchange_order_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
                        values (%s, 'x', %s, %s, 0.32, %s, true, 0.02, now() - %s::interval, 'paper')""",
                     (fill_id, ticker, side, count, age))


def signal(db, ticker, age, p):
    db.admin.execute("""insert into ops.signals (as_of, ticker, strategy, model_p, decision, reason, gates)
                        values (now() - %s::interval, %s, 'DailyHigh', %s, 'skip', 'test', '{}')""", (age, ticker, p))


def order(db, ticker, age, key):
    db.admin.execute("""insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of)
                        values (%s, %s, %s, 'DailyHigh', 'bid', 0.32, 5, 'paper', 'paper', now() - %s::interval)""",
                     (f"public|{key}", f"mb-public-{key}", ticker, age))


def snapshot(api) -> dict[str, bytes]:
    out = {}
    for p in PATHS:
        r = httpx.get(api.url + p)
        assert r.status_code == 200, (p, r.status_code, r.text)
        out[p] = r.content
    return out


def pin_health(db, at):
    """Health is not derived from trading, but heartbeats move with time (and each dbt build beats):
    pin them to one instant so only trading data could make a response differ."""
    db.admin.execute("""update ops.health_status set last_heartbeat = %s, window_start = %s, window_ok = 1, window_errors = 0""",
                     (at, at))


def test_young_trading_data_changes_no_public_response_byte_for_byte(db, api):
    a, b, rain = today_ladder(db)
    fill(db, "old-1", a, "3 hours")
    signal(db, a, "2 hours", 0.41)
    signal(db, rain, "2 hours", 0.52)
    order(db, a, "3 hours", "old")
    assert build(SETTINGS, dbname=db.name, quiet=True) == 0
    beat = db.admin.execute("select date_trunc('second', now())").fetchone()[0]
    hour = "select date_trunc('hour', at) from analytics.public_cutoff"
    before_hour = db.admin.execute(hour).fetchone()[0]
    pin_health(db, beat)
    before = snapshot(api)
    assert b'"position":5' in before["/city_grid"].replace(b" ", b"") and b"0.41" in before["/city_grid"]
    # everything an observer must not see yet: a fill, an order, a signal, a position change
    fill(db, "young-1", a, "1 minute", count=500)
    fill(db, "young-2", b, "59 minutes", count=7, side="ask")
    order(db, b, "2 minutes", "young")
    signal(db, a, "1 minute", 0.93)
    signal(db, b, "30 seconds", 0.07)
    signal(db, rain, "10 seconds", 0.97)
    assert build(SETTINGS, dbname=db.name, quiet=True) == 0          # the rollups rebuilt with them present
    pin_health(db, beat)
    after = snapshot(api)
    turned = db.admin.execute(hour).fetchone()[0] != before_hour   # the cut-off's hour turned over mid-test
    for p in PATHS:
        if p == "/equity" and turned:                  # a new hourly point may appear: older points unchanged
            assert httpx.Response(200, content=after[p]).json()[1:] == httpx.Response(200, content=before[p]).json()
            continue
        assert after[p] == before[p], (p, before[p][:400], after[p][:400])
    # the same kind of data 61 minutes old does show: the comparison above could fail
    fill(db, "old-2", b, "61 minutes", count=9, side="ask")
    signal(db, b, "61 minutes", 0.66)
    signal(db, rain, "61 minutes", 0.63)
    assert build(SETTINGS, dbname=db.name, quiet=True) == 0
    pin_health(db, beat)
    later = snapshot(api)
    assert later["/trades"] != before["/trades"] and later["/city_grid"] != before["/city_grid"]
    assert later["/metrics"] != before["/metrics"] and later["/headline"] != before["/headline"]
    assert later["/ladders"] != before["/ladders"] and later["/overview"] != before["/overview"]
    assert later["/monthly"] != before["/monthly"]


def test_city_grid_answers_web_anon(db, api):
    a, _b, _rain = today_ladder(db)
    r = httpx.get(f"{api.url}/city_grid")
    assert r.status_code == 200 and {row["market"] for row in r.json()} >= {a}


def test_public_climate_day_agrees_with_ops_climate_date(db):
    """api.city_grid inlines ops.climate_date (web_anon executes no function): they must agree."""
    rows = db.admin.execute("""select c.code, ((t at time zone 'UTC') + c.std_utc_offset)::date = ops.climate_date(t, c.std_utc_offset)
                                 from ops.cities c,
                                      generate_series(timestamptz '2026-03-08 00:00Z', '2026-03-09 12:00Z', interval '17 minutes') t""").fetchall()
    assert rows and all(ok for _, ok in rows)


def test_metric_views_exist_before_any_dbt_build(api):
    for p in ("/metrics", "/equity"):
        r = httpx.get(api.url + p)
        assert r.status_code == 200 and r.json() == [], (p, r.text)


def test_health_never_says_minus_infinity(api):
    rows = httpx.get(f"{api.url}/health").json()
    assert "infinity" not in httpx.get(f"{api.url}/health").text
    assert {r["component"]: r["status"] for r in rows}["all"] == "down"          # nothing has reported yet: 200, body says down


def test_health_does_not_read_the_event_history(db):
    plan = "\n".join(r[0] for r in db.admin.execute("explain select * from api.health"))
    assert "health_events" not in plan, plan


def test_heartbeats_are_counted_not_stored(db):
    for _ in range(50):
        db.admin.execute("select ops.heartbeat('executor', true, 'ok')")
    db.admin.execute("select ops.heartbeat('executor', false, 'boom')")
    assert db.admin.execute("select count(*), min(level) from ops.health_events").fetchone() == (1, "error")
    assert db.admin.execute("select window_ok, window_errors from ops.health_status where component = 'executor'").fetchone() == (50, 1)
    # retention: the newest 100,000 events, whatever their time says (a replay stamps old times)
    db.admin.execute("""insert into ops.health_events (at, component, level, message)
                        select now() - interval '400 days', 'executor', 'error', 'old ' || i from generate_series(1, 100002) i""")
    db.admin.execute("select ops.heartbeat('executor', true)")
    assert db.admin.execute("select count(*) from ops.health_events").fetchone()[0] == 100000
    assert db.admin.execute("select count(*) from ops.health_events where message in ('boom', 'old 1', 'old 2')").fetchone()[0] == 0


def test_select_with_many_aliases_is_refused(api):
    many = ",".join(f"a{i}:market" for i in range(100))
    r = httpx.get(f"{api.url}/health", params={"select": many})
    assert r.status_code in (400, 414) and r.json()["code"] in ("MB400", "MB414")
    r = httpx.get(f"{api.url}/trades", params={"select": "traded_at,city,market,side,price,contracts"})
    assert r.status_code == 200                                               # a documented select still works


def test_bearer_tokens_are_ignored_publicly_and_refused_locally(api):
    r = httpx.get(f"{api.url}/trades", headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"})
    assert r.status_code == 200
    r = httpx.get(f"{api.postgrest_url}/trades", headers={"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"})
    assert r.status_code == 401                                               # never a 500 "lacks JWT secret"


@pytest.mark.parametrize("path", ["/trades?select=nope", "/orders", "/trades?order=nope.desc", "/trades?traded_at=eq.notadate",
                                  "/trades?select=*,fills(*)"])
def test_public_errors_are_generic(api, path):
    r = httpx.get(api.url + path)
    assert r.status_code in (400, 404) and set(r.json()) == {"code", "message"}, r.text
    for leak in ("permission", "relation", "column", "does not exist", "PGRST", "42", "api."):
        assert leak not in r.text, (path, r.text)


def test_public_refusals_do_not_grow_the_logs(db, api):
    """200 refused methods and 200 failing statements: nginx's error log and the Postgres log stay as
    they were (refusals are not logged per request)."""
    nginx_log = api.state / "nginx-error.log"
    pg_log = Path(db.admin.execute("select coalesce(pg_current_logfile(), '')").fetchone()[0] or SETTINGS.state_dir / "log" / "postgres.log")
    if not pg_log.is_absolute():
        pg_log = Path(db.admin.execute("show data_directory").fetchone()[0]) / pg_log
    sizes = lambda: (nginx_log.stat().st_size if nginx_log.exists() else 0, pg_log.stat().st_size if pg_log.exists() else 0)
    before = sizes()
    with httpx.Client() as c:
        for _ in range(200):
            c.post(f"{api.url}/trades", json={})
            c.get(f"{api.url}/trades?traded_at=eq.notadate")
    after = sizes()
    assert after[0] - before[0] == 0, "nginx logged public refusals"
    assert after[1] - before[1] < 2048, f"postgres log grew by {after[1] - before[1]} bytes"


def test_postgrest_configuration_is_readable_by_its_owner_only(api):
    conf = api.state / "postgrest.conf"
    assert conf.stat().st_mode & 0o777 == 0o600
    assert "jwt-secret" in conf.read_text()          # (and it holds the per-start secret and, managed, a password)


def test_odd_requests_get_the_generic_json_locally_too(api):
    """Issue 26 §4 on the local nginx: an Accept PostgREST would answer 415 (with its own text), a URI
    of 9,000 characters, a garbled request line, a body too large — all the project's short JSON, and
    none of them written to nginx's error log."""
    import socket
    nginx_log = api.state / "nginx-error.log"
    before = nginx_log.stat().st_size if nginx_log.exists() else 0
    r = httpx.get(f"{api.url}/trades", headers={"Accept": "application/xml"})
    assert r.status_code == 406 and r.json() == {"code": "MB406", "message": "not acceptable"} and "PGRST" not in r.text
    assert httpx.get(f"{api.url}/trades", headers={"Accept": "text/html,*/*;q=0.8"}).status_code == 200
    r = httpx.get(f"{api.url}/{'a' * 9000}")
    assert r.status_code == 414 and r.json()["code"] == "MB414", r.text[:200]
    r = httpx.post(f"{api.url}/trades", content=b"x" * (10 * 1024 * 1024))   # refused, its body discarded
    assert r.status_code == 405 and r.json()["code"] == "MB405", r.text[:200]
    host, port = api.url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    for _ in range(50):
        with socket.create_connection((host, int(port))) as raw:
            raw.sendall(b"\x16\x03\x01GARBAGE\r\n\r\n")
            answer = b""
            while chunk := raw.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400") and b'"code":"MB400"' in answer, answer[:300]
    grown = (nginx_log.stat().st_size if nginx_log.exists() else 0) - before
    assert grown == 0, f"nginx's error log grew {grown} bytes for client errors"
