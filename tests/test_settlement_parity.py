"""Settlement parity (issue 27 §5), against the real SQL: Kalshi's settled value is the outcome of record;
the CLI final and the METAR-derived extreme are cross-checks, per event and as agreement rates (the
rates are public, on /v1/settlement_parity)."""
from __future__ import annotations

from decimal import Decimal

import httpx

from test_dashboard import dashboard, tabs, text  # noqa: F401 -- (the dashboard fixture)


def settle(db, event: str, city: str, day: str, kind: str, value: str):
    db.admin.execute("""insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                                                 floor_strike, cap_strike, open_time, close_time, status, result,
                                                 expiration_value, expiration_value_at)
                        values (%s, %s, %s, %s, %s, %s, 'between', 50, 51, '2026-11-01Z', %s::date + 1, 'finalized', 'no',
                                %s, %s::date + 2)""",
                     (f"{event}-B50.5", event, event.split("-")[0], city, day, kind, day, value, day))


def cli(db, city, day, max_f, min_f, issued, product):
    db.admin.execute("""insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, max_f, min_f, raw_text)
                        values (%s, %s, %s, true, %s, %s, %s, 'CLI')""", (city, day, product, issued, max_f, min_f))


def obs(db, city, at, temp_f, max6h=None):
    db.admin.execute("""insert into ops.observations (station_icao, observed_at, city_code, climate_date, temp_c, temp_f, max6h_f)
                        select station_icao, %s::timestamptz, code, ops.climate_date(%s::timestamptz, std_utc_offset), round((%s::numeric - 32) / 1.8, 2), %s, %s
                          from ops.cities where code = %s""", (at, at, temp_f, temp_f, max6h, city))


def test_parity_per_event_and_per_source(db, api, dashboard):
    # NYC Nov 20 high: Kalshi 54; CLI 54; METAR: hourly readings peak 53.2, but the 6-hour group at 23:51 EST
    # (inside the day) says 54.1 -> 54: all agree
    settle(db, "KXHIGHNY-26NOV20", "NYC", "2026-11-20", "high", "54")
    cli(db, "NYC", "2026-11-20", 54, 41, "2026-11-21 06:20Z", "p1")
    obs(db, "NYC", "2026-11-20 19:51Z", 53.2)
    obs(db, "NYC", "2026-11-21 04:51Z", 50.0, max6h=54.1)
    # NYC Nov 21 high: Kalshi 48 (The Weather Company); the CLI final says 49 (corrected later to 48); METAR 47.6 -> 48
    settle(db, "KXHIGHNY-26NOV21", "NYC", "2026-11-21", "high", "48")
    cli(db, "NYC", "2026-11-21", 49, 40, "2026-11-22 06:20Z", "p2")
    obs(db, "NYC", "2026-11-21 20:51Z", 47.6)
    # MIA Nov 21 high: Kalshi 81; CLI 81; no observation stored: METAR has no say
    settle(db, "KXHIGHMIA-26NOV21", "MIA", "2026-11-21", "high", "81")
    cli(db, "MIA", "2026-11-21", 81, 70, "2026-11-22 06:20Z", "p3")
    rows = db.admin.execute("""select city, climate_date::text, kalshi_f, cli_f, metar_f, cli_agrees, metar_agrees
                                 from ops.v_settlement_parity order by city desc, climate_date""").fetchall()
    assert rows == [("NYC", "2026-11-20", 54, 54, 54, True, True),
                    ("NYC", "2026-11-21", 48, 49, 48, False, True),
                    ("MIA", "2026-11-21", 81, 81, None, True, None)]
    rates = {r[0]: r[1:] for r in db.admin.execute("select source, events, agree, agreement_rate from ops.v_settlement_parity_rates")}
    assert rates == {"cli": (3, 2, Decimal("0.6667")), "metar": (2, 2, Decimal("1.0000"))}
    # the disagreement is a risk event too (settlement.sql), once
    assert db.admin.execute("select count(*) from ops.risk_events where kind = 'settlement_disagreement'").fetchone()[0] == 1
    # a corrected CLI final (newer) replaces the old one in the parity
    cli(db, "NYC", "2026-11-21", 48, 40, "2026-11-22 18:00Z", "p2-corrected")
    assert db.admin.execute("""select cli_f, cli_agrees from ops.v_settlement_parity
                                where city = 'NYC' and climate_date = '2026-11-21'""").fetchone() == (48, True)
    # public: the rates, as web_anon reads them through nginx and PostgREST
    assert httpx.get(f"{api.url}/settlement_parity").json() == [
        {"source": "cli", "events": 3, "agree": 3, "agreement_rate": 1.0},
        {"source": "metar", "events": 2, "agree": 2, "agreement_rate": 1.0}]
    # and the dashboard's Health tab says it in words
    health = text(tabs(dashboard(api.url).run())["Health"])
    assert "The NWS daily climate report (CLI) agreed with the value Kalshi settled on for 3 of 3 settled days (100 %)." in health
    assert "The station's own readings (METAR) agreed with the value Kalshi settled on for 2 of 2 settled days (100 %)." in health
