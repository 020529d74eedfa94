"""The Monthly model's inputs from the wire (issue 27 §3): the gridpoint's precipitation layers per
climate day, the fake world's bulletins and forecasts landing, and Monthly markets priced from them --
then traded inside the limits once the operator enables a series."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from fakes.harness import NOW, Fakes
from milkbot.sim.world import BY_CODE
from test_ingest import run_pass
from workers.common.wire import PayloadError
from workers.ingest.nws import parse_gridpoint_precip

EST = timedelta(hours=-5)


def layer(uom, *values):
    return {"uom": uom, "values": [{"validTime": t, "value": v} for t, v in values]}


def grid(**layers):
    return {"type": "Feature", "properties": {"updateTime": "2026-11-20T17:00:00+00:00", **layers}}


def test_the_grids_precipitation_is_split_into_climate_days():
    g = grid(
        # 03Z-09Z on the 20th is 22:00-04:00 EST: 2 hours on the 19th, 4 on the 20th
        quantitativePrecipitation=layer("wmoUnit:mm", ("2026-11-20T03:00:00+00:00/PT6H", 15.24),
                                        ("2026-11-20T09:00:00+00:00/PT6H", 2.54), ("2026-11-20T15:00:00+00:00/PT6H", None)),
        snowfallAmount=layer("wmoUnit:mm", ("2026-11-20T03:00:00+00:00/PT6H", 0), ("2026-11-20T09:00:00+00:00/PT6H", 25.4)),
        probabilityOfPrecipitation=layer("wmoUnit:percent", ("2026-11-20T00:00:00+00:00/PT12H", 70),
                                         ("2026-11-20T12:00:00+00:00/PT12H", 30)))
    rows = {r.climate_date: r for r in parse_gridpoint_precip(g, EST)}
    assert set(rows) == {date(2026, 11, 19), date(2026, 11, 20)}
    d19, d20 = rows[date(2026, 11, 19)], rows[date(2026, 11, 20)]
    assert (d19.qpf_in, d19.hours, d19.pop) == (Decimal("0.20"), Decimal("2.0"), Decimal("0.7"))       # 0.6 in x 2/6
    assert (d20.qpf_in, d20.hours, d20.pop) == (Decimal("0.50"), Decimal("10.0"), Decimal("0.7"))      # 0.4 + 0.1 in
    assert d20.snow_in == Decimal("1.00") and d19.snow_in == Decimal("0.00")


def test_a_grid_without_precipitation_has_no_rows_and_a_wrong_one_is_refused():
    assert parse_gridpoint_precip(grid(), EST) == []
    with pytest.raises(PayloadError, match="is not a probability"):
        parse_gridpoint_precip(grid(quantitativePrecipitation=layer("wmoUnit:mm", ("2026-11-20T03:00:00+00:00/PT6H", 1)),
                                    probabilityOfPrecipitation=layer("wmoUnit:percent", ("2026-11-20T00:00:00+00:00/PT12H", 150))), EST)
    with pytest.raises(PayloadError, match="unexpected length unit"):
        parse_gridpoint_precip(grid(quantitativePrecipitation=layer("wmoUnit:kg", ("2026-11-20T03:00:00+00:00/PT6H", 1))), EST)
    with pytest.raises(PayloadError, match="not a plausible amount"):
        parse_gridpoint_precip(grid(quantitativePrecipitation=layer("wmoUnit:mm", ("2026-11-20T03:00:00+00:00/PT6H", -3))), EST)


@pytest.fixture
def monthly_fakes():
    f = Fakes(monthly=True)
    yield f
    f.stop()


def test_monthly_markets_are_priced_from_the_bulletins_and_the_forecast(db, monthly_fakes):
    w, nyc = monthly_fakes.world, BY_CODE["NYC"]
    report = run_pass(db, monthly_fakes)
    assert report.errors == 0, db.admin.execute("select url, error from ops.v_ingest_errors").fetchall()
    today = w.today(nyc)
    # the forecast days: what the fake grid says, per climate day
    fc = dict(db.admin.execute("""select climate_date, qpf_in from ops.precip_forecasts
                                   where city_code = 'NYC' and hours = 24""").fetchall())
    assert len(fc) >= 6
    for day, qpf in fc.items():
        assert abs(qpf - Decimal(str(w.pop_qpf(nyc, day)[1]))) <= Decimal("0.011"), day
    # the month to date: every final of the month so far
    model = db.admin.execute("""select mtd_in, days_observed, days_unknown, days_forecast, normal_source, p_dry, mean_in
                                  from ops.monthly_model(%s) where city_code = 'NYC' and kind = 'monthly_rain'""", (NOW,)).fetchone()
    yesterday = today - timedelta(days=1)
    expect_mtd = w.month_to_date(nyc, yesterday, "monthly_rain") if today.day > 1 else Decimal(0)
    assert model[:2] == (expect_mtd, today.day - 1)
    assert model[2] == w.days_in_month(today) - today.day + 1 and model[3] >= 1
    assert model[4].startswith("CLI normal to") or today.day == 1
    # every Monthly market priced and recorded; skipped only because no series is enabled yet
    priced = db.admin.execute("""select count(*), count(model_p), count(*) filter (where reason like 'strategy: Monthly disabled%%')
                                   from ops.signals where strategy = 'Monthly'""").fetchone()
    assert priced[0] > 0 and priced == (priced[0], priced[0], priced[0])

    # the operator verifies and enables NYC rain: it is decided on its own merits, inside every limit
    db.admin.execute("""update ops.monthly_series set series_ticker = 'KXRAINNYCM', enabled = true, reason = 'test: verified'
                         where city_code = 'NYC' and kind = 'monthly_rain'""")
    db.admin.execute("update ops.risk_limits set value = 15 where name = 'max_event_loss'")
    later = NOW + timedelta(minutes=5)
    run_pass(db, monthly_fakes, now=later)
    rows = db.admin.execute("""select ticker, reason from ops.signals where as_of = %s and ticker like 'KXRAINNYCM-%%'""", (later,)).fetchall()
    assert rows and not any(r.startswith("strategy:") for _t, r in rows), rows
    worst = db.admin.execute("""select coalesce(max(worst_case_loss), 0) from ops.event_worst_case_loss(%s, 'paper')
                                 where event_ticker like 'KXRAINNYCM-%%'""", (later,)).fetchone()[0]
    assert worst <= 15


def test_an_unreadable_precipitation_layer_is_recorded_and_the_temperatures_still_land(db, monthly_fakes):
    monthly_fakes.nws.fault("bad_precip", r"^/gridpoints/OKX/34,45$", times=None)
    run_pass(db, monthly_fakes, markets=False, cycle=False)
    errors = db.admin.execute("select error from ops.ingest_errors where city_code = 'NYC'").fetchall()
    assert any("probabilityOfPrecipitation[0] = 150" in e[0] for e in errors), errors
    assert db.admin.execute("select count(*) from ops.forecasts where city_code = 'NYC' and source = 'gridpoint'").fetchone()[0] > 0
    assert db.admin.execute("select count(*) from ops.precip_forecasts where city_code = 'NYC'").fetchone()[0] == 0
    assert db.admin.execute("select count(*) from ops.precip_forecasts where city_code = 'BOS'").fetchone()[0] > 0
