"""The executor on the feed (issue 25 §5): our `fill` and `user_order` WebSocket messages are the fast path
into the ledger and the orders (db/functions/ops/user_feed.sql, through the real feed against the fake
exchange whose REST side makes the fills); the REST pull and listing stay the truth that reconciles.
Duplicates and reordering are harmless, a fill is counted once whichever path sees it first, and a feed
that dies leaves REST to do it all."""
from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest
from psycopg.types.json import Jsonb

from fakes.harness import NOW
from fakes.waiting import wait_for
from test_executor import ask_of, executor, intent
from test_feed import FeedThread, db, exchange  # noqa: F401 (fixtures)
from workers.common.kalshi_auth import KalshiSigner

D = Decimal


@pytest.fixture
def live(db, exchange):  # noqa: F811
    """The fake exchange with its private channels, the feed following it, a demo executor beside it."""
    fakes, ws, url = exchange
    ws.attach(fakes.kalshi)
    feed = FeedThread(db, url, KalshiSigner("test-key", fakes.key))
    ex = executor(db, fakes, dataclasses.replace(fakes.settings, mode="demo"))
    yield fakes, ws, feed, ex
    feed.stop()


def resting(db, fakes, ex, count=10):
    t = fakes.ticker()
    bid, _ = ask_of(fakes, t)
    oid = intent(db, t, str(bid), count=count)
    ex.drain()
    k = fakes.kalshi
    order = k.orders[k.by_client[db.admin.execute("select client_order_id from ops.orders where id = %s", (oid,)).fetchone()[0]]]
    return oid, order


def ours(db, oid):
    return db.admin.execute("select state::text, count, filled_count from ops.orders where id = %s", (oid,)).fetchone()


def ledger(db, oid):
    return db.admin.execute("select count(*), coalesce(sum(count), 0) from ops.fills where order_id = %s", (oid,)).fetchone()


def exchange_fill(fakes, order, qty):
    with fakes.kalshi.olock:
        fakes.kalshi.fill(order, D(qty), order["price"], taker=False)


def test_a_fill_reaches_the_ledger_over_the_feed_and_rest_counts_it_once(db, live):
    fakes, ws, feed, ex = live
    wait_for(lambda: feed.feed.sids.get("fill") and feed.feed.sids.get("user_orders"), "the private channels", gone=feed.gone)
    oid, order = resting(db, fakes, ex)
    assert ours(db, oid) == ("RESTING", 10, 0)
    exchange_fill(fakes, order, 4)
    # no REST call: the feed alone moves the ledger and the order
    wait_for(lambda: ours(db, oid) == ("PARTIALLY_FILLED", 10, 4) and ledger(db, oid) == (1, 4), "the fill over the feed",
             gone=feed.gone)
    ex.reconcile()                                       # REST reads the same fill: once
    assert ledger(db, oid) == (1, 4) and ours(db, oid) == ("PARTIALLY_FILLED", 10, 4)
    # the exchange cancels the rest (e.g. self-trade prevention): the feed says so before any listing
    with fakes.kalshi.olock:
        order["status"] = "canceled"
        fakes.kalshi.emit_order(order)
    wait_for(lambda: ours(db, oid)[0] == "CANCELED", "the cancel over the feed", gone=feed.gone)
    ex.reconcile()
    assert ours(db, oid) == ("CANCELED", 10, 4) and ledger(db, oid) == (1, 4)


def test_duplicated_and_reordered_private_messages_change_nothing_twice(db, live):
    fakes, ws, feed, ex = live
    wait_for(lambda: feed.feed.sids.get("fill") and feed.feed.sids.get("user_orders"), "the private channels", gone=feed.gone)
    oid, order = resting(db, fakes, ex)
    ws.private_faults = ["duplicate", "duplicate"]       # the first fill and its order update, each sent twice
    exchange_fill(fakes, order, 3)
    wait_for(lambda: ours(db, oid) == ("PARTIALLY_FILLED", 10, 3), "the first fill", gone=feed.gone)
    ws.private_faults = ["reorder"]                      # the last fill held back: its order update ('executed') first
    exchange_fill(fakes, order, 7)
    wait_for(lambda: ledger(db, oid) == (2, 10), "both fills", gone=feed.gone)
    assert ours(db, oid) == ("FILLED", 10, 10)
    ex.reconcile()
    assert ours(db, oid) == ("FILLED", 10, 10) and ledger(db, oid) == (2, 10)


def test_with_the_feed_dead_rest_does_it_all_and_a_late_feed_copy_counts_nothing(db, live):
    fakes, ws, feed, ex = live
    wait_for(lambda: feed.feed.sids.get("fill"), "the private channels", gone=feed.gone)
    feed.stop()
    oid, order = resting(db, fakes, ex)
    exchange_fill(fakes, order, 5)
    assert ledger(db, oid) == (0, 0)
    ex.reconcile()
    assert ledger(db, oid) == (1, 5) and ours(db, oid) == ("PARTIALLY_FILLED", 10, 5)
    f = fakes.kalshi.fills[-1]
    late = {"type": "fill", "sid": 9, "msg": {**f, "market_ticker": order["ticker"], "client_order_id": order["client_order_id"]}}
    got = db.admin.execute("select ops.record_user_feed(%s, %s)", (Jsonb([late, late]), NOW)).fetchone()[0]
    assert got["fills"] == 0 and ledger(db, oid) == (1, 5)


def test_a_fill_the_feed_saw_first_does_not_move_rests_start_past_one_rest_has_not_seen(db, live):
    """REST's pull starts from the newest fill *it* returned, less the look-back (1 h). A fill the feed
    recorded first, two hours after one REST never read, must not make REST skip the older one."""
    fakes, ws, feed, ex = live
    wait_for(lambda: feed.feed.sids.get("fill"), "the private channels", gone=feed.gone)
    oid, order = resting(db, fakes, ex)
    exchange_fill(fakes, order, 1)
    wait_for(lambda: ledger(db, oid) == (1, 1), "the first fill over the feed", gone=feed.gone)
    ex.reconcile()                                        # REST has returned the fill at NOW
    fakes.world.now_fixed = NOW + timedelta(minutes=1)
    ws.private_faults = ["drop", "drop"]                 # the feed misses this fill and its update
    exchange_fill(fakes, order, 2)
    fakes.world.now_fixed = NOW + timedelta(hours=2)
    exchange_fill(fakes, order, 3)                        # seen by the feed
    wait_for(lambda: ledger(db, oid) == (2, 4), "the later fill over the feed", gone=feed.gone)
    ex.reconcile()
    assert ledger(db, oid) == (3, 6) and ours(db, oid)[2] == 6


def test_user_orders_only_move_an_order_forward(db, exchange):  # noqa: F811
    """Stale or repeated updates never reopen, grow or un-fill an order; a malformed message is refused
    alone (with a health event) and the rest of its batch is recorded. (Messages sent by hand: no feed.)"""
    fakes, ws, url = exchange
    ex = executor(db, fakes, dataclasses.replace(fakes.settings, mode="demo"))
    oid, order = resting(db, fakes, ex)
    view = lambda **kw: {"type": "user_order", "sid": 3, "msg": {**fakes.kalshi.order_view(order), **kw}}  # noqa: E731
    send = lambda *msgs: db.admin.execute("select ops.record_user_feed(%s, %s)", (Jsonb(list(msgs)), NOW)).fetchone()[0]  # noqa: E731
    # a confirmed decrease: 10 -> 6; then a stale update from before it (remaining 10) changes nothing
    send(view(remaining_count_fp="6.00"))
    assert ours(db, oid) == ("RESTING", 6, 0)
    send(view(remaining_count_fp="10.00"))
    assert ours(db, oid) == ("RESTING", 6, 0)
    # filled 2, then a stale 'filled 0' update
    send(view(fill_count_fp="2.00", remaining_count_fp="4.00"), view(fill_count_fp="0.00", remaining_count_fp="6.00"))
    assert ours(db, oid) == ("PARTIALLY_FILLED", 6, 2)
    # a malformed one beside a good one: the good one lands, the bad one is refused and said
    got = send(view(fill_count_fp="lots"), view(status="canceled", fill_count_fp="2.00", remaining_count_fp="0.00"))
    assert got["orders"] == 1 and len(got["refused"]) == 1, got
    assert ours(db, oid) == ("CANCELED", 6, 2)
    assert db.admin.execute("select count(*) from ops.health_events where message like 'feed: refused user_order%'").fetchone()[0] == 1
    # a resting update after the cancel does not reopen it
    send(view(status="resting", fill_count_fp="2.00", remaining_count_fp="4.00"))
    assert ours(db, oid) == ("CANCELED", 6, 2)
