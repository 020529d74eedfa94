"""Monthly markets seen (issue 27 §1): ingest discovers the monthly rain and snow series from GET /series
(category Climate and Weather) for Milkbot's cities -- not from a hand list -- and reads their "above X
inches" markets into ops.markets; the operator's verified series alone lets the strategy trade. Against
the fake exchange listing them (the demo's world), with a series appearing and disappearing."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from fakes.harness import NOW, Fakes
from milkbot.sim.world import BY_CODE
from test_ingest import run_pass
from workers.common.wire import PayloadError
from workers.ingest.kalshi_market import event_date, monthly_kind, parse_series_list


@pytest.fixture
def monthly_fakes():
    f = Fakes(monthly=True)
    yield f
    f.stop()


def test_series_names_map_to_our_cities_only():
    ours = {"NYC", "CHI", "DEN", "BOS"}
    assert monthly_kind("KXRAINNYCM", ours) == ("NYC", "monthly_rain")
    assert monthly_kind("KXCHISNOWM", ours) == ("CHI", "monthly_snow")
    assert monthly_kind("KXRAINHOUM", ours) is None                    # a city Milkbot does not trade
    assert monthly_kind("KXNYCRAINM", ours) is None                    # the name kalshi-api.md found nowhere
    assert monthly_kind("KXHIGHNY", ours) is None
    assert event_date("KXRAINNYCM-26APR", monthly=True) == date(2026, 4, 1)
    with pytest.raises(PayloadError, match="no YYMON month"):
        event_date("KXRAINNYCM-26APR30", monthly=True)
    with pytest.raises(PayloadError, match="entry 1 has no ticker"):
        parse_series_list({"series": [{"ticker": "KXRAINNYCM"}, {"title": "no ticker"}]})


def test_a_pass_discovers_monthly_series_and_reads_their_markets(db, monthly_fakes):
    report = run_pass(db, monthly_fakes)
    assert report.errors == 0, db.admin.execute("select url, error from ops.v_ingest_errors").fetchall()
    listed = dict(db.admin.execute("""select city_code || ' ' || kind, listed_ticker from ops.monthly_series
                                       where listed_ticker is not null""").fetchall())
    assert listed == {**{f"{c} monthly_rain": f"KXRAIN{c}M" for c in ("NYC", "CHI", "DEN", "LAX", "MIA", "SEA", "SFO", "AUS")},
                      **{f"{c} monthly_snow": f"KX{c}SNOWM" for c in ("NYC", "CHI", "DEN", "BOS")}}
    # this month's thresholds: a cumulative ladder of "above X inches", the month as its climate date
    month = NOW.date().replace(day=1)
    rows = db.admin.execute("""select ticker, strike_type, floor_strike, climate_date from ops.markets
                                where series_ticker = 'KXRAINNYCM' order by floor_strike""").fetchall()
    w = monthly_fakes.world
    assert [(r[1], r[2], r[3]) for r in rows] == [("greater", x, month) for x in w.monthly_thresholds(BY_CODE["NYC"], "monthly_rain")]
    n_markets = sum(len(w.monthly_thresholds(c, k)) for _t, c, k in w.monthly_series())
    assert n_markets >= 12 * 5
    assert db.admin.execute("select count(*) from ops.markets where kind in ('monthly_rain', 'monthly_snow')").fetchone()[0] == n_markets
    # quoted, evaluated, and not traded: no series is verified by the operator (enabled stays false)
    assert db.admin.execute("""select count(*) from ops.v_market_quotes where ticker like 'KXRAINNYCM-%%'
                                and yes_bid is not null""").fetchone()[0] == 6
    assert db.admin.execute("""select count(*), count(*) filter (where decision = 'skip' and reason like 'strategy: Monthly disabled%%')
                                 from ops.signals where strategy = 'Monthly'""").fetchone() == (n_markets, n_markets)
    assert db.admin.execute("select count(*) from ops.orders where ticker like 'KXRAIN%%' or ticker like 'KX%%SNOWM-%%'").fetchone()[0] == 0


def test_a_new_series_is_discovered_and_a_delisted_one_is_forgotten(db, monthly_fakes):
    import milkbot.sim.world as world
    run_pass(db, monthly_fakes, cycle=False)
    assert db.admin.execute("select listed_ticker from ops.monthly_series where city_code = 'SEA' and kind = 'monthly_snow'").fetchone()[0] is None
    snow, rain = world.MONTHLY_SNOW, world.MONTHLY_RAIN
    try:
        world.MONTHLY_SNOW = snow + ("SEA",)                                # Kalshi lists a new series
        world.MONTHLY_RAIN = tuple(c for c in rain if c != "AUS")           # and stops listing one
        run_pass(db, monthly_fakes, cycle=False)
    finally:
        world.MONTHLY_SNOW, world.MONTHLY_RAIN = snow, rain
    got = dict(db.admin.execute("""select city_code || ' ' || kind, listed_ticker from ops.monthly_series
                                    where (city_code, kind::text) in (('SEA', 'monthly_snow'), ('AUS', 'monthly_rain'))""").fetchall())
    assert got == {"SEA monthly_snow": "KXSEASNOWM", "AUS monthly_rain": None}
    assert db.admin.execute("select count(*) from ops.markets where series_ticker = 'KXSEASNOWM'").fetchone()[0] == \
        len(monthly_fakes.world.monthly_thresholds(world.BY_CODE["SEA"], "monthly_snow"))


def test_the_fakes_monthly_replies_match_the_openapi_fragments(monthly_fakes, shared_data):
    from test_ingest import _validate
    from workers.common.http import Client
    c = Client(monthly_fakes.kalshi_url, {"Accept": "application/json"}, timeout=5, attempts=1)
    _validate(shared_data, "market__get-series-list.yaml", 200, c.get("/series", params={"category": "Climate and Weather"}))
    _validate(shared_data, "market__get-series.yaml", 200, c.get("/series/KXRAINNYCM"))
    _validate(shared_data, "market__get-markets.yaml", 200, c.get("/markets", params={"series_ticker": "KXNYCSNOWM", "status": "open"}))


def test_an_unreadable_listing_is_recorded_and_the_last_one_kept(db, monthly_fakes):
    """GET /series failing (500, every retry) or answering garbage: a recorded error, the listing as it was
    (never emptied by a failed read), and the listed series' markets still read."""
    run_pass(db, monthly_fakes, cycle=False)
    before = db.admin.execute("select city_code, kind, listed_ticker, listed_at from ops.monthly_series order by 1, 2").fetchall()
    for kind in ("500", "malformed"):
        monthly_fakes.kalshi.fault(kind, r"/series$", times=None)
        report = run_pass(db, monthly_fakes, cycle=False)
        monthly_fakes.kalshi.clear_faults()
        assert report.errors >= 1
        assert db.admin.execute("select city_code, kind, listed_ticker, listed_at from ops.monthly_series order by 1, 2").fetchall() == before
        assert db.admin.execute("""select count(*) from ops.v_ingest_errors
                                    where url like '%%/series?category=%%'""").fetchone()[0] >= 1
    assert db.admin.execute("select count(*) from ops.markets where series_ticker = 'KXRAINNYCM'").fetchone()[0] == 6
