"""The market is part of the model (issue 24 §4), against the real SQL: the model's weight in the traded
probability (db/functions/ops/blend.sql) is fitted by rolling origin -- only signals decided and
settlements known by the fit's own time -- and the cycle trades on the blend from the fit on, recording
the model's, the market's and the traded probability on every signal."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from psycopg.types.json import Jsonb

from test_sizing import T0, initial_books, quote, world  # noqa: F401 (fixture)

D = Decimal
FIT_AT = T0 - timedelta(minutes=5)


def settled_history(conn, first: date, days: int, per_day: int, market_right: bool, seed: int) -> list[tuple]:
    """Settled NYC daily-high markets with one signal each, decided at 18:00Z the day before (lead 1): the
    market's normalised mid near the outcome (or near the wrong one), the model's p a coin toss. Their
    values became known at 12:00Z the day after. Returns (model p, market p, outcome) per signal."""
    rng = random.Random(seed)
    rows = []
    for d in range(days):
        day = first + timedelta(days=d)
        for i in range(per_day):
            won = rng.random() < 0.3
            right = won if market_right else not won
            market = D(str(round(rng.uniform(0.55, 0.85) if right else rng.uniform(0.05, 0.35), 3)))
            model = D(str(round(rng.uniform(0.05, 0.95), 3)))
            ticker = f"KXHIGHNY-{day:%y%b%d}-B{40 + 2 * i}.5".upper()
            conn.execute(
                """insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                                            floor_strike, cap_strike, open_time, close_time, status, result, expiration_value_at)
                   values (%s, %s, 'KXHIGHNY', 'NYC', %s, 'high', 'between', %s, %s, %s, %s, 'finalized', %s, %s)""",
                (ticker, ticker.rsplit("-", 1)[0], day, 40 + 2 * i, 41 + 2 * i, datetime.combine(day, datetime.min.time(), timezone.utc) - timedelta(days=1),
                 datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=29), "yes" if won else "no",
                 datetime.combine(day, datetime.min.time(), timezone.utc) + timedelta(hours=36)))
            conn.execute(
                """insert into ops.signals (as_of, ticker, strategy, model_p, gates, decision, reason)
                   values (%s, %s, 'DailyHigh', %s, %s, 'skip', 'history')""",
                (datetime.combine(day, datetime.min.time(), timezone.utc) - timedelta(hours=6), ticker, model,
                 Jsonb({"world": {"market_p": float(market)}})))
            rows.append((model, market, int(won)))
    return rows


def best_weight(rows) -> Decimal:
    """The grid search the fit does, in Python: Brier of w * model + (1 - w) * market, ties to the larger w."""
    def brier(w):
        return sum((w * m + (1 - w) * k - y) ** 2 for m, k, y in rows) / len(rows)
    grid = [D(g) / 20 for g in range(21)]
    return min(grid, key=lambda w: (brier(w), -w))


def test_the_blend_is_fitted_by_rolling_origin_and_traded_on(world):  # noqa: F811
    conn, tickers = world
    # 12 days before the fit where the market knew; 12 more settled after it where the market was wrong
    known = settled_history(conn, date(2026, 11, 10), 12, 6, market_right=True, seed=1)
    later = settled_history(conn, date(2026, 11, 23), 1, 6, market_right=False, seed=2)   # settles 11-24 12:00Z: before T0
    conn.execute("update ops.markets set expiration_value_at = %s where climate_date = '2026-11-23'", (FIT_AT + timedelta(minutes=1),))
    conn.execute("update ops.strategy_params set value = 50 where name = 'blend_min_markets'")
    before_fit = conn.execute("select clock_timestamp()").fetchone()[0]
    assert conn.execute("select ops.fit_blend(%s)", (FIT_AT,)).fetchone()[0] == 1
    fit = conn.execute("""select kind, lead_days, model_weight, in_force, markets, days, brier_model, brier_market, brier_blend
                            from ops.blend_fits""").fetchone()
    assert fit[:2] == ("high", 1) and fit[3] and fit[4:6] == (72, 12), fit
    assert fit[2] == best_weight(known) and fit[2] < D("0.5"), fit        # the market knew: mostly the market
    assert fit[7] < fit[6] and fit[8] <= fit[7], fit
    # the markets settled after FIT_AT were not seen by it; a fit a minute later sees them too
    conn.execute("select ops.fit_blend(%s)", (FIT_AT + timedelta(minutes=2),))
    assert conn.execute("select markets, model_weight from ops.blend_fits order by id desc limit 1").fetchone() == (
        78, best_weight(known + later))

    # the cycle trades on the blend from the fit on: 2026-11-26 highs at 18:00Z on the 25th are lead 1
    quote(conn, FIT_AT - timedelta(minutes=2), initial_books(tickers))
    quote(conn, T0, initial_books(tickers))
    conn.execute("delete from ops.blend_fits where fitted_at > %s", (FIT_AT,))
    w = fit[2]
    rows = conn.execute("""select ticker, model_p, yes_ask, side, edge, fee_multiplier, gates->'blend'
                             from ops.evaluate_markets(%s) where ticker = any(%s)""", (T0, tickers)).fetchall()
    assert len(rows) == len(tickers)
    moved = 0
    for ticker, p, ask, side, edge, mult, blend in rows:
        own, market = D(str(blend["model_p"])), D(str(blend["market_p"]))
        assert D(str(blend["model_weight"])) == w and blend["p"] is not None
        assert abs(p - (w * own + (1 - w) * market)) < D("0.000001"), (ticker, p, own, market)
        fee = conn.execute("select ops.fee_per_contract(%s, %s)", (ask, mult)).fetchone()[0]
        if side == "bid":
            assert abs(edge - (p - ask - fee)) < D("0.000001")      # the edge is the blend's
        moved += abs(p - own) > D("0.01")
    assert moved >= 6
    # before the fit: the model alone, and the signal says so
    before = conn.execute("""select model_p, gates->'blend' from ops.evaluate_markets(%s) where ticker = %s""",
                          (FIT_AT - timedelta(minutes=1), tickers[2])).fetchone()
    assert before[1]["model_weight"] == 1 and before[1]["market_p"] is not None and D(str(before[1]["model_p"])) == before[0]
    # a replay as known before the fit was written: the model alone too
    replay = conn.execute("""select model_p, gates->'blend' from ops.evaluate_markets(%s, %s) where ticker = %s""",
                          (T0, before_fit, tickers[2])).fetchone()
    assert replay[1]["model_weight"] == 1 and D(str(replay[1]["model_p"])) == replay[0]
    # the cycle records all three on its signals
    conn.execute("select ops.run_cycle(%s)", (T0,))
    g = conn.execute("select model_p, gates->'blend' from ops.signals where as_of = %s and ticker = %s", (T0, tickers[2])).fetchone()
    assert D(str(g[1]["p"])) == g[0] and {"model_p", "market_p", "model_weight", "p"} <= set(g[1])
    page = "\n".join(r[0] for r in conn.execute("select * from ops.explain(%s, %s)", (tickers[2], T0)).fetchall())
    assert f"{round(100 * w)}% the model and {100 - round(100 * w)}% the market" in page, page
    conn.rollback()


def test_a_fit_with_too_few_settled_markets_leaves_the_model_alone(world):  # noqa: F811
    conn, tickers = world
    settled_history(conn, date(2026, 11, 18), 5, 4, market_right=True, seed=3)      # 20 markets, 5 days
    conn.execute("select ops.fit_blend(%s)", (FIT_AT,))
    in_force, note = conn.execute("select in_force, note from ops.blend_fits").fetchone()
    assert not in_force and "not in force: 20 settled markets over 5 days" in note, note
    quote(conn, T0, initial_books(tickers))
    for p, blend in conn.execute("select model_p, gates->'blend' from ops.evaluate_markets(%s) where ticker = any(%s)",
                                 (T0, tickers)).fetchall():
        assert blend["model_weight"] == 1 and D(str(blend["model_p"])) == p
    conn.rollback()


def traded_history(conn, claimed: Decimal, markets: int, wins: int, price: Decimal, first: date, mode: str = "paper") -> None:
    """`markets` settled NYC highs, each bought once (10 YES at `price`) on a signal claiming `claimed`;
    `wins` of them settled YES."""
    for i in range(markets):
        day = first + timedelta(days=i // 6)
        ticker = f"KXHIGHNY-{day:%y%b%d}-B{40 + 2 * (i % 6)}.5".upper()
        won = i < wins
        at = datetime.combine(day, datetime.min.time(), timezone.utc) - timedelta(hours=6)
        conn.execute(
            """insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                                        floor_strike, cap_strike, open_time, close_time, status, result, expiration_value_at)
               values (%s, %s, 'KXHIGHNY', 'NYC', %s, 'high', 'between', %s, %s, %s, %s, 'finalized', %s, %s)""",
            (ticker, ticker.rsplit("-", 1)[0], day, 40 + 2 * (i % 6), 41 + 2 * (i % 6), at - timedelta(hours=4), at + timedelta(hours=35),
             "yes" if won else "no", at + timedelta(hours=42)))
        sid = conn.execute("""insert into ops.signals (as_of, ticker, strategy, model_p, side, price, edge, size, gates, decision, reason)
                              values (%s, %s, 'DailyHigh', 0.5, 'bid', %s, %s, 10, '{}', 'trade', 'history') returning id""",
                           (at, ticker, price, claimed)).fetchone()[0]
        oid = conn.execute("""insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of, signal_id)
                              values (%s, %s, %s, 'DailyHigh', 'bid', %s, 10, %s, %s, %s, %s) returning id""",
                           (f"hist|{ticker}", f"mb-hist-{mode}-{i:04d}-{claimed}".replace(".", ""), ticker, price, mode, mode, at, sid)).fetchone()[0]
        conn.execute("""insert into ops.fills (fill_id, order_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
                        values (%s, %s, %s, 'bid', %s, 10, true, 0.10, %s, %s)""", (f"hist-{ticker}", oid, ticker, price, at, mode))


def test_min_edge_follows_the_edge_trades_realised(world):  # noqa: F811
    """Trades claiming 3¢ and 5¢ lost; trades claiming 8¢ earned beyond doubt: min_edge goes to 8¢ (the
    lowest threshold whose trades above it realised more than zero at 95 %, no lower than what was claimed
    there), audited, with its reason; with too few settled markets nothing changes."""
    conn, _ = world
    traded_history(conn, D("0.03"), 20, 4, D("0.40"), date(2026, 9, 1))      # 20 % wins at 40¢: -0.21 a contract
    traded_history(conn, D("0.05"), 20, 4, D("0.40"), date(2026, 9, 10))
    traded_history(conn, D("0.08"), 25, 15, D("0.30"), date(2026, 9, 20))    # 60 % wins at 30¢: +0.29 a contract
    conn.execute("update ops.strategy_params set value = 100 where name = 'min_edge_min_markets'")
    got = conn.execute("select ops.fit_min_edge(%s, 'paper')", (T0,)).fetchone()[0]
    assert not got["set"] and "65 settled traded markets, 100 needed" in got["reason"], got
    buckets = {b: (n, claimed, realised, lo) for b, _, n, _, claimed, realised, lo, _ in
               conn.execute("select * from ops.edge_realised(%s, 'paper')", (T0,)).fetchall()}
    assert buckets["2–4¢"][:3] == (20, D("0.03"), D("-0.21")) and buckets["6–10¢"][2] == D("0.29"), buckets
    assert buckets["6–10¢"][3] > 0 > buckets["2–4¢"][3]
    conn.execute("update ops.strategy_params set value = 50 where name = 'min_edge_min_markets'")
    got = conn.execute("select ops.fit_min_edge(%s, 'paper')", (T0,)).fetchone()[0]
    assert got["set"] and got["min_edge"] == 0.08, got
    assert conn.execute("select value from ops.strategy_params where name = 'min_edge'").fetchone()[0] == D("0.08")
    assert conn.execute("""select operator from ops.control_audit where table_name = 'strategy_params'
                            order by id desc limit 1""").fetchone()[0] == "ops.fit_min_edge (measured)"
    # a book that only ever traded claims of 8¢ cannot lower the threshold to 0 (nothing measured below 8¢)
    traded_history(conn, D("0.08"), 25, 15, D("0.30"), date(2026, 10, 10), mode="demo")
    conn.execute("update ops.strategy_params set value = 20 where name = 'min_edge_min_markets'")
    assert conn.execute("select ops.fit_min_edge(%s, 'demo')", (T0,)).fetchone()[0]["min_edge"] == 0.08
    # settlements not yet known at an earlier time: not counted
    early = conn.execute("select ops.fit_min_edge(%s, 'paper')", (datetime(2026, 9, 15, tzinfo=timezone.utc),)).fetchone()[0]
    assert not early["set"] and early["markets"] < 50, early
    conn.rollback()
