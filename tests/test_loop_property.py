"""The whole money loop in motion, as a property (issue 23 §2): the real SQL cycle (ops.run_cycle), the
real executor (workers/executor, paper mode) and the paper exchange (ops.paper_submit / paper_match),
over generated sequences of books, public trades and forecasts moving with the clock, operator changes between cycles (limits, Kelly, resting or taking
orders, ACTIVE / REDUCING / HALTED, a market-blend fit coming into force), and books that arrive between a cycle's decision and the executor's
pass, and trades that fill resting orders (fills racing the cycle's cancels and decreases). After every executor pass:

* per market: held + working on the traded side <= the cycle's target (fills alone may pass it);
* event / cluster / total worst case within its limit, or within what fills alone already lose;
* no order larger than the size the book displayed when it was decided;
* nothing new while REDUCING (except orders that reduce) or HALTED; and HALTED leaves nothing resting;
* orders never grow;
* every order's state and filled count equal its fills; every fill has its order;
* one book: nothing but paper.

Each generated sequence runs in a database of its own, cloned from the suite's template."""
from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import DATABASE, SETTINGS
from test_sizing import LIMITS, T0, build_world, exposures, fills_exposures, initial_books, quote
from workers.executor.brokers import PaperBroker
from workers.executor.main import Executor

LIMIT_OF = {"event": "max_event_loss", "cluster": "max_cluster_exposure", "total": "max_total_exposure"}
EPS = Decimal("0.000001")


class World:
    """One cloned database: the world of test_sizing (three daily-high ladders), a cycle connection and
    an executor with its own connection and the test's clock."""

    def __init__(self, template: str, name: str):
        self.name = name
        self.admin = psycopg.connect(DATABASE.admin_conninfo(), autocommit=True)
        self.admin.execute(f'create database "{name}" template "{template}"')
        self.conn = psycopg.connect(DATABASE.admin_conninfo(name), autocommit=False)
        self.tickers = build_world(self.conn)
        self.conn.execute("update ops.risk_limits set value = 300 where name = 'bankroll'")
        self.conn.commit()
        self.now = T0
        xconn = psycopg.connect(DATABASE.role_conninfo("milkbot_executor", name), autocommit=False)
        self.executor = Executor(dataclasses.replace(SETTINGS, mode="paper"), xconn, PaperBroker(xconn), "paper",
                                 now=lambda: self.now + timedelta(seconds=20))
        self.xconn = xconn

    def close(self):
        self.xconn.close()
        self.conn.close()
        self.admin.execute(f'drop database if exists "{self.name}" with (force)')
        self.admin.close()


@pytest.fixture
def template(pg_server):
    return pg_server.template_dbname


def book_at(conn, ticker: str, side: str, at):
    bid, bid_size, ask, ask_size = conn.execute(
        """select yes_bid, yes_bid_size, yes_ask, yes_ask_size from ops.market_snapshots
            where ticker = %s and fetched_at <= %s order by fetched_at desc limit 1""", (ticker, at)).fetchone()
    return (ask, ask_size) if side == "bid" else (bid, bid_size)


def check(w: World, at, state: str, sizes_before: dict) -> dict:
    """Every promise of the loop, after an executor pass. Returns the orders' sizes for the next step."""
    c = w.conn
    lim = dict(c.execute("select name, value from ops.risk_limits").fetchall())
    # one book
    assert c.execute("select count(*) from ops.orders where mode <> 'paper'").fetchone()[0] == 0
    assert c.execute("select count(*) from ops.fills where mode <> 'paper'").fetchone()[0] == 0
    # every fill has its order; every order's filled count and state follow its fills
    assert c.execute("select count(*) from ops.fills where order_id is null").fetchone()[0] == 0
    bad = c.execute("""select o.id, o.state, o.count, o.filled_count, coalesce(sum(f.count), 0)
                         from ops.orders o left join ops.fills f on f.order_id = o.id
                        group by o.id
                       having o.filled_count <> coalesce(sum(f.count), 0)
                           or (o.state = 'FILLED') <> (coalesce(sum(f.count), 0) >= o.count)
                           or (o.state = 'RESTING' and coalesce(sum(f.count), 0) > 0)
                           or (o.state = 'PARTIALLY_FILLED' and not coalesce(sum(f.count), 0) between 0.01 and o.count - 0.01)""").fetchall()
    assert bad == [], bad
    # orders never grow
    sizes = dict(c.execute("select id, count from ops.orders").fetchall())
    grown = {i: (sizes_before[i], n) for i, n in sizes.items() if i in sizes_before and n > sizes_before[i]}
    assert grown == {}, grown
    # the executor has applied every cancel and decrease the cycle asked for (paper confirms at once)
    assert c.execute("""select count(*) from ops.orders where state in ('RESTING', 'PARTIALLY_FILLED')
                          and (cancel_requested_at is not null or superseded_by is not null
                               or (decrease_to is not null and count > decrease_to))""").fetchone()[0] == 0
    # this cycle's new orders: never larger than the displayed size, nothing new unless ACTIVE (REDUCING:
    # only orders that reduce), and their signal's target respected
    for oid, ticker, side, count, reduces in c.execute(
            "select id, ticker, side, count, reduces_exposure from ops.orders where as_of = %s", (at,)).fetchall():
        _, size = book_at(c, ticker, side, at)
        assert size is not None and count <= size, (oid, ticker, count, size)
        assert state == "ACTIVE" or (state == "REDUCING" and reduces), (oid, state)
    if state == "HALTED":
        assert c.execute("select count(*) from ops.orders where state in ('RESTING', 'PARTIALLY_FILLED', 'PENDING')").fetchone()[0] == 0
    # held + working on the traded side <= the target (fills alone may pass it: then nothing is working)
    for ticker, side, target in c.execute(
            "select ticker, side, target_contracts from ops.signals where as_of = %s and decision = 'trade'", (at,)).fetchall():
        d = 1 if side == "bid" else -1
        held = c.execute("""select coalesce(sum(case side when 'bid' then count else -count end), 0) from ops.fills
                             where ticker = %s""", (ticker,)).fetchone()[0]
        working = c.execute("""select coalesce(sum(count - filled_count), 0) from ops.orders where ticker = %s and side = %s
                                 and state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN')""",
                            (ticker, side)).fetchone()[0]
        assert d * held + working <= max(target, d * held) + EPS, (ticker, side, held, working, target)
    # every limit: within it, or within what fills alone already lose (a limit tightened under a position)
    resolved, fixed = exposures(c, at + timedelta(seconds=30), resolved=True), fills_exposures(c, at + timedelta(seconds=30))
    for key, loss in resolved.items():
        assert loss <= max(lim[LIMIT_OF[key[0]]], fixed.get(key, Decimal(0))) + EPS, (key, loss, lim[LIMIT_OF[key[0]]], fixed.get(key))
    c.commit()
    return sizes


step = st.fixed_dictionaries({
    "moves": st.lists(st.tuples(st.integers(0, 17), st.integers(-6, 6), st.sampled_from([5, 20, 50, 200])), max_size=4),
    "racing": st.lists(st.tuples(st.integers(0, 17), st.integers(-6, 6), st.sampled_from([5, 20, 50, 200])), max_size=3),
    # public trades printed after the decision (what fills a resting paper order): which resting order
    # (or market, when none rests), cents through its price (negative: short of it), contracts, and
    # whether the taker hits it (else the taker takes the other side)
    "prints": st.lists(st.tuples(st.integers(0, 17), st.integers(-2, 3), st.sampled_from([5, 20, 50, 200]),
                                 st.booleans()), min_size=1, max_size=4),
    "forecast": st.one_of(st.none(), st.tuples(st.integers(0, 2), st.integers(-3, 3))),
    "limit": st.one_of(st.none(), st.tuples(st.sampled_from(LIMITS), st.sampled_from([1, 3, 5, 10, 25, 50, 200]))),
    "kelly": st.one_of(st.none(), st.sampled_from([Decimal("0.1"), Decimal("0.25"), Decimal("1.0")])),
    "resting": st.one_of(st.none(), st.sampled_from([0, 1])),
    "state": st.one_of(st.none(), st.sampled_from(["ACTIVE", "ACTIVE", "REDUCING", "HALTED"])),
    # a market-blend fit coming into force (the model's weight in the traded probability; 1 = the model alone)
    "blend": st.one_of(st.none(), st.sampled_from([Decimal("0"), Decimal("0.5"), Decimal("1")])),
})


def move_books(books: dict, tickers: list[str], moves) -> None:
    for idx, delta, size in moves:
        t = tickers[idx]
        b, a, _ = books[t]
        a = min(max(a + Decimal(delta) / 100, Decimal("0.02")), Decimal("0.98"))
        books[t] = (min(b, a - Decimal("0.01")), a, Decimal(size))


def print_trades(conn, at, books: dict, tickers: list[str], prints) -> None:
    """Public trades on the tape at `at` (the paper exchange fills resting orders from these only), aimed at
    the orders resting then: at, through or short of their price, on the side that hits them or not."""
    conn.execute("select ops.ensure_tape_partitions(%s::date, %s::date)", (at, at))
    resting = conn.execute("""select ticker, side, price from ops.orders where state in ('RESTING', 'PARTIALLY_FILLED')
                               order by id""").fetchall()
    for n, (idx, cents, size, hits) in enumerate(prints):
        if resting:
            ticker, side, price = resting[idx % len(resting)]
        else:
            ticker, side, price = tickers[idx], "bid", books[tickers[idx]][0]
        through = Decimal(cents) / 100
        yes_price = min(max(price - through if side == "bid" else price + through, Decimal("0.01")), Decimal("0.99"))
        taker = ("no" if side == "bid" else "yes") if hits else ("yes" if side == "bid" else "no")
        conn.execute("""insert into ops.tape_trades (created_time, trade_id, ticker, yes_price, count, taker_side, received_at)
                        values (%s, %s, %s, %s, %s, %s, %s)""", (at, f"p{at.timestamp():.0f}-{n}", ticker, yes_price, size, taker, at))
    conn.commit()


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=2, max_size=6))
def test_the_loop_keeps_every_promise(template, steps):
    w = World(template, f"mbloop_{id(steps) % 10**9}")
    try:
        books = initial_books(w.tickers)
        sizes: dict = {}
        for s in steps:
            c = w.conn
            # trades since the last executor pass, before this cycle decides: they fill what rests, and the
            # executor learns of those fills only after the cycle's requests are made (fills racing them)
            print_trades(c, w.now - timedelta(seconds=30), books, w.tickers, s["prints"])
            if s["limit"]:
                c.execute("update ops.risk_limits set value = %s where name = %s", (s["limit"][1], s["limit"][0]))
            if s["kelly"] is not None:
                c.execute("update ops.strategy_params set value = %s where strategy = 'all' and name = 'kelly_fraction'", (s["kelly"],))
            if s["resting"] is not None:
                c.execute("update ops.strategy_params set value = %s where strategy = 'all' and name = 'resting_orders'", (s["resting"],))
            if s["blend"] is not None:
                c.execute("""insert into ops.blend_fits (fitted_at, kind, lead_days, model_weight, in_force, markets, days, signals, note)
                             select %s, 'high', l, %s, true, 100, 20, 500, 'property test' from generate_series(0, 2) l""",
                          (w.now - timedelta(seconds=1), s["blend"]))
            if s["state"]:
                c.execute("update ops.trading_state set state = %s, reason = 'property test'", (s["state"],))
            if s["forecast"]:
                city, delta = s["forecast"]
                c.execute("""update ops.forecasts set forecast_f = forecast_f + %s
                              where city_code = (array['NYC', 'PHL', 'SEA'])[%s]""", (delta, city + 1))
            move_books(books, w.tickers, s["moves"])
            quote(c, w.now, books)
            c.execute("select set_config('milkbot.mode', 'paper', false)")
            c.execute("select ops.run_cycle(%s)", (w.now,))
            state = c.execute("select state::text from ops.trading_state").fetchone()[0]
            c.commit()
            # books that arrive after the decision, before the executor: fills race the cycle's requests
            if s["racing"]:
                # aimed at the markets this cycle just ordered, where a moving book matters
                ordered = [t for (t,) in c.execute("select distinct ticker from ops.orders where as_of = %s order by 1", (w.now,))]
                move_books(books, w.tickers, [(w.tickers.index(ordered[i % len(ordered)]) if ordered else i, d, z)
                                              for i, d, z in s["racing"]])
                quote(c, w.now + timedelta(seconds=10), books)
                c.commit()
            w.executor.drain()
            w.executor.reconcile()
            sizes = check(w, w.now, state, sizes)
            w.now += timedelta(minutes=2)
    finally:
        w.close()
