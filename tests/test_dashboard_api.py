"""The public views the dashboard reads (api.overview, ladders, calibration, status, trades in words),
through the real PostgREST and nginx: what they show, and that trading data in them is as of the
60-minute cut-off. (test_public_boundary.py checks them byte for byte with the other public paths.)"""
from __future__ import annotations

import httpx
import pytest

import public_world


def get(api, path, **params):
    r = httpx.get(f"{api.url}/{path}", params=params)
    assert r.status_code == 200, (path, r.status_code, r.text)
    return r.json()


def test_market_words_agree_with_the_settlement_interval(db):
    """analytics.v_market_words inlines ops.yes_lo / ops.yes_hi (web_anon executes no function)."""
    db.admin.execute("""insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                                                 floor_strike, cap_strike, open_time, close_time, status)
                        select 'KXHIGHNY-26NOV28-' || upper(left(t.s, 1)) || coalesce(t.f, t.c), 'KXHIGHNY-26NOV28', 'KXHIGHNY', 'NYC', '2026-11-28', 'high', t.s, t.f, t.c,
                               now(), now() + interval '1 day', 'active'
                          from (values ('between', 70.0, 71.0), ('greater', 75.0, null), ('greater_or_equal', 75.5, null),
                                       ('less', null, 64.0), ('less_or_equal', null, 64.5)) t(s, f, c)""")
    rows = db.admin.execute("""select w.words, w.lo is not distinct from ops.yes_lo(m.strike_type, m.floor_strike, m.cap_strike)
                                      and w.hi is not distinct from ops.yes_hi(m.strike_type, m.floor_strike, m.cap_strike)
                                 from analytics.v_market_words w join ops.markets m using (ticker) order by m.strike_type""").fetchall()
    assert rows == [("NYC high 70–71 °F, Nov 28", True), ("NYC high 76 °F or above, Nov 28", True),
                    ("NYC high 76 °F or above, Nov 28", True), ("NYC high 63 °F or below, Nov 28", True),
                    ("NYC high 64 °F or below, Nov 28", True)]


def test_overview_is_ten_cities_two_days_two_kinds_with_delayed_model_and_position(db, api):
    world = public_world.populate(db)
    rows = get(api, "overview")
    assert len(rows) == 40 and {r["city"] for r in rows} == set(public_world.CENTRES)
    nyc = {(r["day"], r["kind"]): r for r in rows if r["city"] == "NYC"}
    today = nyc[("today", "high")]
    assert (today["forecast_f"], today["observed_f"], today["favoured_bracket"], today["favoured_p"]) == (52, 50, "52–53 °F", 0.42)
    assert (today["yes_bid"], today["yes_ask"], today["holding"], today["data_health"]) == (0.38, 0.41, True, "ok")
    assert nyc[("tomorrow", "high")]["forecast_f"] == 53 and nyc[("tomorrow", "high")]["observed_f"] is None
    assert not nyc[("today", "low")]["holding"]
    # a signal and a fill younger than 60 minutes change nothing; the same 61 minutes old do
    other = world["today"][("NYC", "low")][0]
    public_world.signal(db, other, 0.9, age="10 minutes", strategy="DailyLow")
    public_world.fill(db, "young-low", other, "5 minutes")
    assert get(api, "overview") == rows
    public_world.signal(db, other, 0.9, age="61 minutes", strategy="DailyLow")
    public_world.fill(db, "old-low", other, "61 minutes")
    low = {(r["city"], r["day"], r["kind"]): r for r in get(api, "overview")}[("NYC", "today", "low")]
    assert (low["favoured_bracket"], low["favoured_p"], low["holding"]) == ("36 °F or below", 0.9, True)


def test_a_city_with_an_old_forecast_is_stale(db, api):
    public_world.populate(db)
    db.admin.execute("update ops.forecasts set fetched_at = now() - interval '3 hours' where city_code = 'DEN'")
    health = {r["city"]: r["data_health"] for r in get(api, "overview")}
    assert health["DEN"] == "forecast stale" and health["NYC"] == "ok"
    db.admin.execute("delete from ops.forecasts where city_code = 'SEA'")
    assert {r["city"]: r["data_health"] for r in get(api, "overview")}["SEA"] == "no forecast yet"


def test_ladders_put_the_delayed_model_beside_the_live_market(db, api):
    public_world.populate(db)
    rows = [r for r in get(api, "ladders") if r["city"] == "MIA" and r["kind"] == "high"]
    assert len(rows) == 12                                             # today and tomorrow, six brackets each
    today = [r for r in rows if r["climate_date"] == rows[0]["climate_date"]]
    assert [r["bracket"] for r in today] == ["76 °F or below", "77–78 °F", "79–80 °F", "81–82 °F", "83–84 °F", "85 °F or above"]
    assert [r["model_p"] for r in today] == list(public_world.LADDER_P)
    assert today[3]["market_p"] == 0.395                               # (0.38 + 0.41) / 2


def test_monthly_puts_the_month_so_far_and_the_delayed_model_beside_the_market(db, api):
    world = public_world.populate(db)
    rows = get(api, "monthly")
    assert [r["market"] for r in rows] == world["monthly"]
    assert [r["threshold"] for r in rows] == ["above 2 in", "above 3 in", "above 4 in"]
    assert [r["model_p"] for r in rows] == list(public_world.MONTHLY_P.values())
    assert {(r["month_to_date_in"], r["normal_to_date_in"]) for r in rows} == {(1.23, 1.5)}
    assert rows[1]["market_p"] == 0.43                                 # (0.41 + 0.45) / 2
    # a signal younger than the cut-off does not show; the model column keeps the delayed one
    db.admin.execute("""insert into ops.signals (as_of, ticker, strategy, model_p, decision, reason, gates)
                        values (now() - interval '5 minutes', %s, 'Monthly', 0.99, 'skip', 'young', '{}')""", (world["monthly"][0],))
    assert get(api, "monthly")[0]["model_p"] == 0.81


def test_calibration_bins_settled_markets_by_the_delayed_model_p(db, api):
    public_world.populate(db)
    rows = {(r["city"], r["bin_from_pct"]): r for r in get(api, "calibration")}
    assert {c for c, _ in rows} == {"NYC", "MIA"}                      # the only cities with settled markets
    b = rows[("NYC", 40)]                                              # the 42 % bracket: YES on 7 of 10 days
    assert (b["markets"], b["mean_model_p"], b["yes_rate"]) == (10, 0.42, 0.7)
    assert sum(r["markets"] for (c, _), r in rows.items() if c == "NYC") == 60


def test_reliability_puts_the_market_beside_the_model_on_the_same_signals(db, api):
    public_world.populate(db)
    rows = {(r["city"], r["forecaster"], r["bin_from_pct"]): r for r in get(api, "reliability")}
    assert {(c, f) for c, f, _ in rows} == {("NYC", "model"), ("NYC", "market"), ("MIA", "model"), ("MIA", "market")}
    model, market = rows[("NYC", "model", 40)], rows[("NYC", "market", 50)]    # the 42 % / 50 % bracket: YES 7 of 10
    assert (model["markets"], model["mean_p"], model["yes_rate"]) == (10, 0.42, 0.7)
    assert (market["markets"], market["mean_p"], market["yes_rate"]) == (10, 0.5, 0.7)
    for who in ("model", "market"):
        assert sum(r["markets"] for (c, f, _), r in rows.items() if c == "NYC" and f == who) == 60
    # a signal younger than the cut-off moves nothing (the boundary test checks it byte for byte too)
    t = db.admin.execute("select ticker from ops.markets where result = 'yes' and city_code = 'NYC' limit 1").fetchone()[0]
    before = httpx.get(f"{api.url}/reliability").content
    public_world.signal(db, t, 0.99, age="10 minutes", market_p=0.99)
    assert httpx.get(f"{api.url}/reliability").content == before


def test_observed_today_is_hourly_beside_the_forecast(db, api):
    public_world.populate(db)
    nyc = [r for r in get(api, "observed_today") if r["city"] == "NYC"]
    assert len(nyc) == 1 and nyc[0]["readings"] == 1
    assert nyc[0]["max_f"] == nyc[0]["min_f"] == public_world.CENTRES["NYC"][0] - 2
    assert nyc[0]["forecast_high_f"] == public_world.CENTRES["NYC"][0]
    # a second reading in the same hour (at its start: climate days start on the hour): one row, its extremes
    db.admin.execute("""insert into ops.observations (station_icao, observed_at, city_code, climate_date, temp_c, temp_f)
                        select o.station_icao, date_trunc('hour', o.observed_at), o.city_code, o.climate_date, 20, 68
                          from ops.observations o where o.city_code = 'NYC'""")
    nyc = [r for r in get(api, "observed_today") if r["city"] == "NYC"]
    assert [(r["readings"], r["max_f"], r["min_f"]) for r in nyc] == [(2, 68, public_world.CENTRES["NYC"][0] - 2)]


def test_status_shows_the_trading_state_as_of_the_cut_off(db, api):
    assert get(api, "status", select="trading_state")[0]["trading_state"] == "ACTIVE"
    db.admin.execute("update ops.trading_state set state = 'HALTED', reason = 'drawdown 12% > 10%', changed_at = now()")
    body = httpx.get(f"{api.url}/status").text
    assert '"ACTIVE"' in body and "HALTED" not in body and "drawdown" not in body    # a halt now is news in an hour
    halt_an_hour_ago(db)
    assert get(api, "status", select="trading_state")[0]["trading_state"] == "HALTED"


def halt_an_hour_ago(db):
    """The audit row a halt 61 minutes ago would have left (its guard stamps the wall clock, so the test
    writes it with triggers off, in its own throwaway database)."""
    db.admin.execute("set session_replication_role = replica")
    db.admin.execute("""insert into ops.control_audit (at, table_name, operation, old_row, new_row)
                        values (now() - interval '61 minutes', 'trading_state', 'UPDATE',
                                jsonb_build_object('state', 'ACTIVE'),
                                jsonb_build_object('state', 'HALTED', 'changed_at', now() - interval '61 minutes'))""")
    db.admin.execute("set session_replication_role = origin")


def test_trades_come_in_words_and_page(db, api):
    world = public_world.populate(db, trades=30)
    rows = get(api, "trades", select="traded_at,words,side,price,contracts", limit=26, offset=0)
    assert len(rows) == 26 and rows[0]["words"] == world["old_words"] and rows[0]["side"] == "buy_yes"
    assert all(r["words"] != "NYC high 54–55 °F, " for r in rows)
    rest = get(api, "trades", select="traded_at,words", limit=26, offset=25)
    assert len(rest) == 6                                              # 31 delayed trades: 25 + 6, the young one absent
    assert [r["traded_at"] for r in rows[:25] + rest] == sorted((r["traded_at"] for r in rows[:25] + rest), reverse=True)


@pytest.mark.parametrize("path", ["overview", "ladders", "calibration", "reliability", "observed_today", "status", "headline",
                                  "monthly"])
def test_new_views_answer_an_empty_database(api, path):
    assert isinstance(get(api, path), list)


def test_the_public_sees_one_book(db, api):
    """One paper and one live fill on the same market, both old enough: the public sees the published
    book only — never 2 rows and 12 contracts with no mode. The executor publishes its own mode at start
    unless an operator chose one."""
    world = public_world.populate(db)
    t = world["today"][("NYC", "low")][0]
    public_world.fill(db, "paper-1", t, "90 minutes", count=3, mode="paper")
    public_world.fill(db, "live-1", t, "90 minutes", count=11, mode="live")

    def on_t():
        return sorted(r["contracts"] for r in get(api, "trades", select="market,contracts") if r["market"] == t)

    assert on_t() == [3]                                                # the default book: paper
    assert {r["market"]: r for r in get(api, "city_grid")}[t]["position"] == 3
    db.admin.execute("select ops.executor_started('live')")             # a live executor starts: live is published
    assert on_t() == [11]
    assert {r["market"]: r for r in get(api, "city_grid")}[t]["position"] == 11
    db.admin.execute("update ops.public_book set mode = 'paper', set_by = 'operator'")
    db.admin.execute("select ops.executor_started('live')")             # the operator's choice stands
    assert on_t() == [3]
