"""Paper fills only as the recorded market allows (issue 25 §4), through the real paper executor and the
SQL that decides (db/functions/ops/paper.sql), over crafted tapes written the way the feed writes them
(ops.record_feed: book snapshots and deltas, public trades).

* A taking order fills against the recorded book at the moment it arrives, each level at its price and for
  at most its size; a book that moved away before it arrived does not fill.
* A resting order fills only as trades print at or through its price, on the side that hits it, after the
  volume that was ahead of it in the queue when it was placed has traded. Nothing else fills it."""
from __future__ import annotations

import dataclasses
import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from psycopg.types.json import Jsonb

from fakes.harness import NOW
from test_executor import Clock, db, intent  # noqa: F401 (db: the fake world already ingested)
from workers.executor.brokers import PaperBroker
from workers.executor.main import Executor

D = Decimal


class Tape:
    """Writes feed messages for one connection through ops.record_feed, as the feed does."""

    def __init__(self, db):
        self.db, self.seq, self.trade_ids = db, itertools.count(1), itertools.count(1)

    def _send(self, msgs, at):
        return self.db.admin.execute("select ops.record_feed('paper-test', %s, %s)", (Jsonb(msgs), at)).fetchone()[0]

    def snapshot(self, ticker, at, yes: dict, no: dict):
        """The book of `ticker` at `at`: bids per side {price: contracts}."""
        lv = lambda d: [[f"{D(p):.4f}", f"{D(q):.2f}"] for p, q in d.items()]  # noqa: E731
        self._send([{"type": "orderbook_snapshot", "sid": 1, "seq": next(self.seq),
                     "msg": {"market_ticker": ticker, "market_id": "m", "yes_dollars_fp": lv(yes), "no_dollars_fp": lv(no)}}], at)

    def delta(self, ticker, at, side: str, price, delta):
        self._send([{"type": "orderbook_delta", "sid": 1, "seq": next(self.seq),
                     "msg": {"market_ticker": ticker, "market_id": "m", "price_dollars": f"{D(price):.4f}",
                             "delta_fp": f"{D(delta):.2f}", "side": side}}], at)

    def trade(self, ticker, at, yes_price, count, taker_side: str):
        """A public trade: the taker bought `taker_side` (a YES bid is hit by takers buying NO)."""
        ms = int(at.timestamp() * 1000)
        r = self._send([{"type": "trade", "sid": 2, "seq": next(self.seq),
                         "msg": {"trade_id": f"t{next(self.trade_ids)}", "market_ticker": ticker,
                                 "yes_price_dollars": f"{D(yes_price):.4f}", "no_price_dollars": f"{1 - D(yes_price):.4f}",
                                 "count_fp": f"{D(count):.2f}", "taker_side": taker_side, "ts": ms // 1000, "ts_ms": ms}}], at)
        assert r["trades"] == 1, r


@pytest.fixture
def paper(db, fakes):
    """Markets of the fake world in the test database (REST books at NOW), a paper executor on a clock the
    test moves, and a tape writer."""
    conn = db.connect("milkbot_executor", autocommit=False)
    clock = Clock(NOW + timedelta(minutes=2))
    ex = Executor(dataclasses.replace(fakes.settings, mode="paper"), conn, PaperBroker(conn), "paper", now=clock)
    return ex, clock, Tape(db)


def paper_order(db, ticker, price, count, side="bid", tif="good_till_canceled", as_of=NOW) -> int:
    oid = intent(db, ticker, price, count=count, side=side, mode="paper", tif=tif)
    db.admin.execute("update ops.orders set as_of = %s where id = %s", (as_of, oid))
    return oid


def ours(db, oid):
    return db.admin.execute("select state::text, filled_count from ops.orders where id = %s", (oid,)).fetchone()


def fills(db, oid):
    return db.admin.execute("""select yes_price, count, is_taker from ops.fills where order_id = %s
                                order by created_time, yes_price""", (oid,)).fetchall()


def test_a_resting_order_behind_100_contracts_fills_only_after_100_have_traded(db, fakes, paper):
    ex, clock, tape = paper
    t = fakes.ticker()
    tape.snapshot(t, NOW + timedelta(minutes=1), yes={"0.30": 100, "0.29": 50}, no={"0.65": 40})
    tape.trade(t, NOW + timedelta(minutes=1, seconds=30), "0.30", 1000, "no")      # before the order: not ours
    oid = paper_order(db, t, "0.30", 10)
    ex.drain()
    assert ours(db, oid) == ("RESTING", 0)
    assert db.admin.execute("select queue_ahead, book_source from ops.paper_queue where order_id = %s", (oid,)).fetchone() == (100, "feed")

    tape.trade(t, NOW + timedelta(minutes=3), "0.30", 60, "no")        # 60 of the 100 ahead
    tape.trade(t, NOW + timedelta(minutes=3, seconds=5), "0.35", 500, "yes")   # takers buying YES: not our side
    tape.trade(t, NOW + timedelta(minutes=3, seconds=9), "0.31", 500, "no")    # above our bid: not at our price
    clock.advance(120)
    ex.reconcile()
    assert ours(db, oid) == ("RESTING", 0)

    tape.trade(t, NOW + timedelta(minutes=5), "0.30", 45, "no")        # 105 in all: 5 past the queue are ours
    clock.advance(120)
    ex.reconcile()
    assert ours(db, oid) == ("PARTIALLY_FILLED", 5)
    assert fills(db, oid) == [(D("0.30"), 5, False)]                   # at our price, as a maker

    tape.trade(t, NOW + timedelta(minutes=6), "0.29", 20, "no")        # through our price: the rest
    tape.trade(t, NOW + timedelta(minutes=9), "0.29", 20, "no")        # after the pass's clock: not yet seen
    clock.advance(60)
    ex.reconcile()
    ex.reconcile()                                                     # again: nothing twice
    assert ours(db, oid) == ("FILLED", 10)
    assert fills(db, oid) == [(D("0.30"), 5, False), (D("0.30"), 5, False)]


def test_a_resting_no_bid_is_hit_by_takers_buying_yes(db, fakes, paper):
    """The other side: an ask at YES 0.35 is a NO bid at 0.65; takers buying YES at 0.35 or more hit it."""
    ex, clock, tape = paper
    t = fakes.ticker()
    tape.snapshot(t, NOW + timedelta(minutes=1), yes={"0.30": 10}, no={"0.65": 30})
    oid = paper_order(db, t, "0.35", 10, side="ask")
    ex.drain()
    assert db.admin.execute("select queue_ahead from ops.paper_queue where order_id = %s", (oid,)).fetchone() == (30,)
    tape.trade(t, NOW + timedelta(minutes=3), "0.30", 100, "no")       # takers selling YES: not ours
    tape.trade(t, NOW + timedelta(minutes=3, seconds=1), "0.35", 34, "yes")
    clock.advance(120)
    ex.reconcile()
    assert ours(db, oid) == ("PARTIALLY_FILLED", 4)
    assert fills(db, oid) == [(D("0.35"), 4, False)]


def test_a_book_that_moved_away_before_the_order_arrived_does_not_fill(db, fakes, paper):
    ex, clock, tape = paper
    gone, still = fakes.ticker(i=2), fakes.ticker(i=3)
    for t in (gone, still):
        tape.snapshot(t, NOW + timedelta(minutes=1), yes={"0.30": 10}, no={"0.65": 50})     # ask 0.35 x 50
    # the cycle decided on those books; before the order arrives one of them moves away
    tape.delta(gone, NOW + timedelta(minutes=1, seconds=30), "no", "0.65", -50)
    tape.delta(gone, NOW + timedelta(minutes=1, seconds=31), "no", "0.60", 50)                # ask 0.40
    a = paper_order(db, gone, "0.35", 10, tif="immediate_or_cancel", as_of=NOW + timedelta(minutes=1))
    b = paper_order(db, still, "0.35", 10, tif="immediate_or_cancel", as_of=NOW + timedelta(minutes=1))
    ex.drain()
    assert ours(db, a) == ("CANCELED", 0) and fills(db, a) == []
    assert ours(db, b) == ("FILLED", 10) and fills(db, b) == [(D("0.35"), 10, True)]


def test_a_taking_order_walks_the_recorded_depth_each_level_at_its_price_and_size(db, fakes, paper):
    ex, clock, tape = paper
    ioc, fok, rest = fakes.ticker(i=2), fakes.ticker(i=3), fakes.ticker(i=4)
    for t in (ioc, fok, rest):     # asks 0.35 x 10, 0.36 x 20, 0.40 x 100
        tape.snapshot(t, NOW + timedelta(minutes=1), yes={"0.30": 10}, no={"0.65": 10, "0.64": 20, "0.60": 100})
    a = paper_order(db, ioc, "0.36", 25, tif="immediate_or_cancel")
    b = paper_order(db, fok, "0.36", 40, tif="fill_or_kill")          # only 30 at or under 0.36: nothing
    c = paper_order(db, rest, "0.36", 40)                             # takes 30 now, rests 10 at the front
    ex.drain()
    assert ours(db, a) == ("FILLED", 25) and fills(db, a) == [(D("0.35"), 10, True), (D("0.36"), 15, True)]
    fee = db.admin.execute("select sum(fee) from ops.fills where order_id = %s", (a,)).fetchone()[0]
    assert fee == D("0.16") + D("0.25")          # taker fee per level: ceil¢(0.07 · 10 · .35 · .65), ceil¢(0.07 · 15 · .36 · .64)
    assert ours(db, b) == ("CANCELED", 0) and fills(db, b) == []
    assert ours(db, c) == ("PARTIALLY_FILLED", 30)
    assert db.admin.execute("select queue_ahead from ops.paper_queue where order_id = %s", (c,)).fetchone() == (0,)
    tape.trade(rest, NOW + timedelta(minutes=3), "0.36", 4, "no")
    clock.advance(120)
    ex.reconcile()
    assert ours(db, c) == ("PARTIALLY_FILLED", 34)


def test_a_book_crossing_a_resting_order_without_a_trade_fills_nothing(db, fakes, paper):
    """The old paper broker filled a resting bid whenever a later book showed an ask at or under it. The
    paper order is not in the real book: nobody traded with it, so nothing fills until the tape says so."""
    ex, clock, tape = paper
    t = fakes.ticker()
    tape.snapshot(t, NOW + timedelta(minutes=1), yes={"0.30": 100, "0.28": 50}, no={"0.65": 40})
    oid = paper_order(db, t, "0.30", 10)
    ex.drain()
    tape.delta(t, NOW + timedelta(minutes=3), "yes", "0.30", -100)       # the bids at 0.30 withdrawn,
    tape.delta(t, NOW + timedelta(minutes=3, seconds=1), "no", "0.70", 200)   # then an ask at our bid
    assert db.admin.execute("select yes_bid, yes_ask from ops.market_snapshots where ticker = %s order by fetched_at desc limit 1",
                            (t,)).fetchone() == (D("0.28"), D("0.30"))
    clock.advance(120)
    ex.reconcile()
    assert ours(db, oid) == ("RESTING", 0)


def test_on_a_rest_top_of_book_a_bid_below_the_best_fills_only_on_trades_through_it(db, fakes, paper):
    """Without the feed only the top is known: at the best bid the queue is its size; below it the depth
    is unknown, so only trades strictly through the price (the whole level gone) fill the order."""
    ex, clock, tape = paper
    t = fakes.ticker()
    bid, ask = db.admin.execute("""select yes_bid, yes_ask from ops.market_snapshots where ticker = %s
                                    order by fetched_at desc limit 1""", (t,)).fetchone()
    below = bid - D("0.02")
    oid = paper_order(db, t, str(below), 10)
    ex.drain()
    q = db.admin.execute("select queue_ahead, book_source from ops.paper_queue where order_id = %s", (oid,)).fetchone()
    assert q[0] is None and q[1] != "feed", q
    tape.trade(t, NOW + timedelta(minutes=3), below, 500, "no")          # at the price: the unknown queue may hold it all
    clock.advance(120)
    ex.reconcile()
    assert ours(db, oid) == ("RESTING", 0)
    tape.trade(t, NOW + timedelta(minutes=5), below - D("0.01"), 3, "no")
    clock.advance(120)
    ex.reconcile()
    assert ours(db, oid) == ("PARTIALLY_FILLED", 3)


@pytest.mark.parametrize("request_", ["decrease", "cancel"])
def test_the_cycles_decrease_or_cancel_leaves_later_trades_nothing_to_fill(db, fakes, paper, request_):
    ex, clock, tape = paper
    t = fakes.ticker()
    tape.snapshot(t, NOW + timedelta(minutes=1), yes={"0.30": 5}, no={"0.65": 40})
    oid = paper_order(db, t, "0.30", 10)
    ex.drain()
    if request_ == "decrease":
        db.admin.execute("select ops.request_decrease(%s, %s, %s)", (oid, 4, NOW))   # target total 4
    else:
        db.admin.execute("update ops.orders set cancel_requested_at = %s where id = %s", (NOW, oid))
    ex.reconcile()                                                       # the request reaches the exchange
    tape.trade(t, NOW + timedelta(minutes=3), "0.30", 100, "no")         # enough for all 10 after the 5 ahead
    clock.advance(120)
    ex.reconcile()
    assert ours(db, oid) == (("FILLED", 4) if request_ == "decrease" else ("CANCELED", 0))


@pytest.mark.parametrize("request_", ["decrease", "cancel"])
def test_trades_before_the_request_reaches_the_exchange_fill_first(db, fakes, paper, request_):
    """The cycle asked for less while the order rested; trades printed before the executor carried the
    request fill first, as they would on the exchange (the race the limits must survive)."""
    ex, clock, tape = paper
    t = fakes.ticker()
    tape.snapshot(t, NOW + timedelta(minutes=1), yes={"0.30": 5}, no={"0.65": 40})
    oid = paper_order(db, t, "0.30", 10)
    ex.drain()
    tape.trade(t, NOW + timedelta(minutes=3), "0.30", 12, "no")          # 7 of ours
    if request_ == "decrease":
        db.admin.execute("select ops.request_decrease(%s, %s, %s)", (oid, 4, NOW + timedelta(minutes=3, seconds=30)))
    else:
        db.admin.execute("update ops.orders set cancel_requested_at = %s where id = %s", (NOW + timedelta(minutes=3, seconds=30), oid))
    clock.advance(120)
    ex.reconcile()
    tape.trade(t, NOW + timedelta(minutes=5), "0.30", 100, "no")
    clock.advance(120)
    ex.reconcile()
    assert ours(db, oid)[1] == 7 and ours(db, oid)[0] in ("CANCELED", "FILLED")   # nothing after the request
