"""The reaction (issue 25 §3): a book that moves at the exchange reaches the tape through the feed, wakes
its event's cycle (NOTIFY milkbot_event) and an order for that event is queued -- with no ingest pass --
while no other event is re-decided; a fill wakes its event too."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest

from fakes.harness import NOW
from fakes.waiting import wait_for
from milkbot.clock import Running
from test_feed import FeedThread, db, exchange, same_book  # noqa: F401 (the fixtures)
from test_ingest import run_pass
from workers.ingest.react import Reactor


@pytest.fixture
def reacting(db, exchange):
    fakes, ws, url = exchange
    clock = Running(NOW + timedelta(minutes=1))   # the world's instant, running on
    from workers.common.kalshi_auth import KalshiSigner
    feed = FeedThread(db, url, KalshiSigner("test-key", fakes.key))
    feed.feed.now = clock
    stop = threading.Event()
    reactor = Reactor(db.conninfo("milkbot_ingest"), now=clock, debounce=0.05, should_stop=stop.is_set)
    thread = threading.Thread(target=reactor.run, daemon=True)
    thread.start()
    yield fakes, ws, feed, reactor
    stop.set()
    thread.join(10)
    feed.stop()


def test_a_book_change_at_the_exchange_queues_an_order_for_its_event_alone(db, reacting):
    fakes, ws, feed, reactor = reacting
    # the sweep at NOW records every market's signal and, with the edge bar out of reach, orders nothing
    db.admin.execute("update ops.strategy_params set value = 0.5 where strategy = 'all' and name = 'min_edge'")
    run_pass(db, fakes, now=NOW)
    assert db.admin.execute("select count(*) from ops.orders").fetchone()[0] == 0
    db.admin.execute("update ops.strategy_params set value = 0.03 where strategy = 'all' and name = 'min_edge'")
    # the daily bracket whose model p is furthest above its bid, among those the world gate lets trade (the
    # model within 0.3 of the market-implied ladder; its limit is 0.4): on some days the furthest one was a
    # same-day bracket the thermometer had all but settled, which the world gate rightly stops
    t, p, bid = db.admin.execute("""select s.ticker, s.model_p, s.yes_bid from ops.signals s join ops.markets m using (ticker)
                                     where s.as_of = %s and m.kind in ('high', 'low') and s.model_p < 0.9
                                       and abs(s.model_p - (s.gates->'world'->>'market_p')::numeric) < 0.3
                                     order by s.model_p - s.yes_bid desc, s.ticker limit 1""", (NOW,)).fetchone()
    assert p - bid >= Decimal("0.07"), (t, p, bid)
    event = t.rsplit("-", 1)[0]
    wait_for(lambda: same_book(db, ws, t), "the feed's first snapshot", gone=feed.gone)
    cycles = reactor.stats.cycles
    # someone offers YES one cent over the bid (a NO bid at 1 - that), 40 contracts: an edge of 5+ cents
    ask = bid + Decimal("0.01")
    ws.change(t, "no", 1 - ask, Decimal("40"))
    orders = wait_for(lambda: db.admin.execute("""select o.ticker, o.as_of, m.event_ticker from ops.orders o
                                                    join ops.markets m using (ticker)""").fetchall(),
                      "an order after the book moved, with no ingest pass", gone=feed.gone)
    assert {e for _t, _a, e in orders} == {event}, orders   # on the event whose book moved, and no other
    assert reactor.stats.cycles > cycles and reactor.stats.failures == 0
    as_of = orders[0][1]
    assert as_of > NOW
    decided = {r[0] for r in db.admin.execute("""select distinct m.event_ticker from ops.signals s join ops.markets m using (ticker)
                                                  where s.as_of = %s""", (as_of,)).fetchall()}
    assert decided == {event}                                # its cycle decided that event only
    assert db.admin.execute("select yes_ask from ops.signals where as_of = %s and ticker = %s", (as_of, t)).fetchone() == (ask,)


def test_a_fill_wakes_its_events_cycle(db, reacting):
    fakes, ws, feed, reactor = reacting
    run_pass(db, fakes, now=NOW)
    t = fakes.ticker()
    cycles = reactor.stats.cycles
    db.admin.execute("""insert into ops.fills (fill_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
                        values ('react-1', %s, 'bid', 0.30, 3, true, 0, %s, 'paper')""", (t,  NOW + timedelta(seconds=30)))
    wait_for(lambda: reactor.stats.cycles > cycles, "a cycle after the fill")
    assert reactor.stats.last["events"] == [t.rsplit("-", 1)[0]]
