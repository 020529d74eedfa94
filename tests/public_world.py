"""A known public world for the dashboard tests and benchmark, written straight into a test database:
all ten cities with today's and tomorrow's forecasts, ladders, quotes and delayed model signals;
settled past markets with signals (calibration, metrics); heartbeats; and trades either side of the
60-minute cut-off. Every time is relative to the database's now(), which the public cut-off uses."""
from __future__ import annotations

import json
from datetime import date, timedelta

# forecast highs/lows per city (°F); the model favours the bracket [c, c+1] of each ladder
CENTRES = {"NYC": (52, 41), "BOS": (48, 37), "PHL": (54, 40), "CHI": (45, 33), "DEN": (58, 29),
           "LAX": (71, 55), "SFO": (62, 50), "SEA": (49, 42), "AUS": (74, 56), "MIA": (81, 70)}
CITY_NAMES = ["New York", "Boston", "Philadelphia", "Chicago", "Denver", "Los Angeles", "San Francisco", "Seattle",
              "Austin", "Miami"]                       # what a visitor reads on the dashboard
LADDER_P = (0.04, 0.10, 0.24, 0.42, 0.15, 0.05)       # model p per bracket, low to high (sums to 1)
MARKET_P = (0.02, 0.06, 0.30, 0.50, 0.10, 0.02)       # the market's normalised mid on the same signals
MONTHLY_P = {2: 0.81, 3: 0.46, 4: 0.17}                 # NYC rain this month: model p of "above X inches"


def event_code(day: date) -> str:
    return f"{day:%y}{day.strftime('%b').upper()}{day:%d}"


def ladder(c: int) -> list[tuple[str, str, int | None, int | None]]:
    """(suffix, strike_type, floor, cap) of six brackets around c: <c-4, c-4..c-3, c-2..c-1, c..c+1, c+2..c+3, >c+3."""
    return [(f"T{c - 4}", "less", None, c - 4), (f"B{c - 3.5}", "between", c - 4, c - 3),
            (f"B{c - 1.5}", "between", c - 2, c - 1), (f"B{c + 0.5}", "between", c, c + 1),
            (f"B{c + 2.5}", "between", c + 2, c + 3), (f"T{c + 3}", "greater", c + 3, None)]


def add_market(db, city, day, kind, suffix, strike_type, floor, cap, *, result="", closes_in="1 day"):
    series = db.admin.execute(f"select {kind}_series from ops.cities where code = %s", (city,)).fetchone()[0]
    event = f"{series}-{event_code(day)}"
    ticker = f"{event}-{suffix}"
    db.admin.execute("""insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                                                 floor_strike, cap_strike, open_time, close_time, status, result)
                        values (%s, %s, %s, %s, %s, %s, %s, %s, %s, now() + %s::interval - interval '2 days', now() + %s::interval,
                                case when %s = '' then 'active' else 'finalized' end, %s)""",
                     (ticker, event, series, city, day, kind, strike_type, floor, cap, closes_in, closes_in, result, result))
    return ticker


def signal(db, ticker, p, age="2 hours", strategy="DailyHigh", market_p=None):
    gates = {} if market_p is None else {"world": {"pass": True, "reason": "test world", "market_p": market_p}}
    db.admin.execute("""insert into ops.signals (as_of, ticker, strategy, model_p, decision, reason, gates)
                        values (now() - %s::interval, %s, %s, %s, 'skip', 'test world', %s)""",
                     (age, ticker, strategy, p, json.dumps(gates)))


def fill(db, fill_id, ticker, age, *, side="bid", price=0.40, count=5, mode="paper"):
    db.admin.execute("""insert into ops.fills (fill_id, exchange_order_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
                        values (%s, 'x', %s, %s, %s, %s, true, 0.02, now() - %s::interval, %s)""",
                     (fill_id, ticker, side, price, count, age, mode))


def populate(db, *, trades: int = 0) -> dict:
    """The world; returns the tickers and words the tests look for."""
    out = {"today": {}, "tomorrow": {}}
    days = dict(db.admin.execute("""select code, ((now() at time zone 'UTC') + std_utc_offset)::date from ops.cities""").fetchall())
    for city, (hi, lo) in CENTRES.items():
        today = days[city]
        snap = db.admin.execute("""insert into ops.weather_snapshots (source, entity, city_code, fetched_at, content_hash, payload)
                                   values ('nws_forecast', 'test', %s, now() - interval '10 minutes', repeat('b', 64), '{}')
                                   returning id""", (city,)).fetchone()[0]
        db.admin.execute("""insert into ops.observations (station_icao, observed_at, city_code, climate_date, temp_c, temp_f)
                            select station_icao, now() - interval '20 minutes', code, %s, round((%s - 32) / 1.8, 2), %s
                              from ops.cities where code = %s""", (today, hi - 2, hi - 2, city))
        for offset, label in ((0, "today"), (1, "tomorrow")):
            day = today + timedelta(days=offset)
            for kind, c in (("high", hi + offset), ("low", lo + offset)):
                db.admin.execute("""insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f,
                                                               issued_at, fetched_at, grid_id, grid_x, grid_y)
                                    values (%s, %s, %s, %s, 'forecast_12h', %s, now() - interval '1 hour',
                                            now() - interval '10 minutes', 'XXX', 1, 1)""", (snap, city, day, kind, c))
                tickers = []
                for (suffix, st, f, cap), p in zip(ladder(c), LADDER_P):
                    t = add_market(db, city, day, kind, suffix, st, f, cap)
                    tickers.append(t)
                    signal(db, t, p, strategy="DailyHigh" if kind == "high" else "DailyLow")
                    bid = max(0.01, round(p - 0.04, 2))
                    db.admin.execute("""insert into ops.market_snapshots (source, ticker, fetched_at, yes_bid, yes_bid_size, yes_ask, yes_ask_size, content_hash)
                                        values ('orderbook', %s, now() - interval '5 minutes', %s, 10, %s, 10, repeat('a', 64))""",
                                     (t, bid, round(bid + 0.03, 2)))
                out[label][(city, kind)] = tickers
    # settled past markets: NYC and MIA highs of the last ten days (calibration and metrics)
    for city in ("NYC", "MIA"):
        hi = CENTRES[city][0]
        for back in range(2, 12):
            day = days[city] - timedelta(days=back)
            for i, ((suffix, st, f, cap), p) in enumerate(zip(ladder(hi), LADDER_P)):
                won = i == (3 if back % 3 else 2)
                t = add_market(db, city, day, "high", suffix, st, f, cap, result="yes" if won else "no",
                               closes_in=f"-{back - 1} days")
                signal(db, t, p, age=f"{back + 1} days", market_p=MARKET_P[i])   # the day before: the day-ahead p
    # NYC's rain this month: three "above X inches" thresholds, the month so far from yesterday's bulletin
    month = days["NYC"].replace(day=1)
    out["monthly"] = []
    for x, p in MONTHLY_P.items():
        t = f"KXRAINNYCM-{month:%y}{month.strftime('%b').upper()}-{x}"
        db.admin.execute("""insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                                                     floor_strike, open_time, close_time, status)
                            values (%s, %s, 'KXRAINNYCM', 'NYC', %s, 'monthly_rain', 'greater', %s,
                                    now() - interval '5 days', now() + interval '20 days', 'active')""",
                         (t, t.rsplit("-", 1)[0], month, x))
        signal(db, t, p, strategy="Monthly")
        db.admin.execute("""insert into ops.market_snapshots (source, ticker, fetched_at, yes_bid, yes_bid_size, yes_ask, yes_ask_size, content_hash)
                            values ('orderbook', %s, now() - interval '5 minutes', %s, 10, %s, 10, repeat('a', 64))""",
                         (t, round(p - 0.05, 2), round(p - 0.01, 2)))
        out["monthly"].append(t)
    db.admin.execute("""insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, raw_text, fetched_at,
                                                         precip_in, precip_mtd_in, precip_mtd_normal_in)
                        values ('NYC', %s, 'cli-world', true, now() - interval '8 hours', 'test', now() - interval '8 hours',
                                0.10, 1.23, 1.50)""", (days["NYC"] - timedelta(days=1),))
    nyc_today = out["today"][("NYC", "high")][3]
    fill(db, "old-trade", nyc_today, "61 minutes", side="bid", price=0.38, count=7)
    fill(db, "young-trade", out["today"][("NYC", "high")][4], "59 minutes", side="ask", price=0.11, count=13)
    cities = list(CENTRES)
    for i in range(trades):
        city = cities[i % len(cities)]
        fill(db, f"bulk-{i}", out["today"][(city, "high")][i % 6], f"{62 + i} minutes", price=0.30, count=1 + i % 5)
    for component in ("nws_ingest", "kalshi_ingest", "cycle", "executor", "reconciler", "analytics"):
        db.admin.execute("select ops.heartbeat(%s, true, 'ok')", (component,))
    out["old_words"] = db.admin.execute("select words from analytics.v_market_words where ticker = %s", (nyc_today,)).fetchone()[0]
    return out
