"""Resting orders in motion (issue 29): decreases racing fills, adoption beside a live order, and the kill
switch when the exchange's listing cannot be read. The exchange's listing is the truth for an order's
count, filled and remaining; whatever we recorded before, an order the exchange lists as resting is live
in our book, and HALTED cancels everything of ours that rests there.

Races are driven by events: the fake exchange runs a hook just before it processes a request, so a fill
lands exactly between our decision and the exchange's handling of it — never by sleeping."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from test_executor import NOW, Clock, ask_of, db, exchange, executor, intent, order  # noqa: F401 (fixtures)

TARGET = Decimal(5)


def theirs(fakes, oid_or_coid: str) -> dict:
    k = fakes.kalshi
    return k.orders[k.by_client.get(oid_or_coid, oid_or_coid)]


def coid_of(db, oid: int) -> str:
    return db.admin.execute("select client_order_id from ops.orders where id = %s", (oid,)).fetchone()[0]


def ours(db, oid: int) -> tuple:
    """(state, count, filled, remaining) as we hold them (a final order has nothing remaining)."""
    return db.admin.execute("""select state::text, count, filled_count,
                                      case when state in ('FILLED', 'CANCELED', 'EXPIRED', 'REJECTED') then 0
                                           else count - filled_count end
                                 from ops.orders where id = %s""", (oid,)).fetchone()


def exchange_view(o: dict) -> tuple:
    state = {"executed": "FILLED", "canceled": "CANCELED"}.get(o["status"]) or (
        "PARTIALLY_FILLED" if o["fill_count"] > 0 else "RESTING")
    remaining = o["count"] - o["fill_count"] if o["status"] == "resting" else Decimal(0)
    return state, o["fill_count"], remaining


def resting_order(db, fakes, exchange, count: int):
    """A bid below the ask, sent and resting at the exchange: (ticker, bid, order id, executor, client id)."""
    t = fakes.ticker()
    bid, _ = ask_of(fakes, t)
    oid = intent(db, t, str(bid), count=count)
    ex = executor(db, fakes, exchange)
    ex.drain()
    return t, bid, oid, ex, coid_of(db, oid)


def ask_decrease(db, oid: int, keep: int) -> None:
    """What the cycle decides: keep `keep` more contracts working beyond what is filled as it sees it now,
    i.e. a target total of filled + keep (ops.request_decrease is the cycle's own call)."""
    db.admin.execute("select ops.request_decrease(%s, %s, %s)", (oid, keep, NOW))


def fill_on(fakes, coid: str, qty: int, when_path: str):
    """A hook: `qty` contracts of the order fill at the exchange just before it processes the next request
    whose path ends with when_path (once)."""
    done = []

    def hook(method, path):
        if done or not path.endswith(when_path):
            return
        done.append(1)
        with fakes.kalshi.olock:
            o = theirs(fakes, coid)
            if o["status"] == "resting":
                fakes.kalshi.fill(o, min(Decimal(qty), o["count"] - o["fill_count"]), o["price"], taker=False)
    fakes.kalshi.before.append(hook)


@pytest.mark.parametrize("first_fill, second_fill, first_decrease_fails", [
    ("before_listing", "at_decrease", False),      # the probe: 3 fill before, 2 race the decrease
    ("at_listing", "at_decrease", False),          # both after our listing was taken
    ("at_decrease", "after_pass", False),
    ("before_listing", "at_decrease", True),       # the first decrease gets a 500, the retry races a fill
    ("at_listing", "at_retry", True),
])
def test_a_decrease_racing_fills_never_leaves_more_than_the_target(db, fakes, exchange, first_fill, second_fill,
                                                                    first_decrease_fails):
    """Order 10 resting; the cycle wants a total of 5; 3 then 2 fill at different moments around the
    listing and the decrease. The exchange never ends with filled + remaining above 5, our row equals the
    exchange's, and HALTED leaves nothing of ours resting."""
    t, bid, oid, ex, coid = resting_order(db, fakes, exchange, 10)
    assert ours(db, oid)[0] == "RESTING"
    ask_decrease(db, oid, int(TARGET))          # filled 0 as the cycle sees it: target total 5

    points = {"before_listing": None, "at_listing": "/portfolio/orders", "at_decrease": "/decrease",
              "at_retry": "/decrease", "after_pass": None}
    if first_fill == "before_listing":
        with fakes.kalshi.olock:
            fakes.kalshi.fill(theirs(fakes, coid), Decimal(3), bid, taker=False)
    else:
        fill_on(fakes, coid, 3, points[first_fill])
    if first_decrease_fails:
        fakes.kalshi.fault("500", r"/decrease$", times=1)
    if second_fill in ("at_decrease",):
        fill_on(fakes, coid, 2, "/decrease")
    ex.reconcile()
    if second_fill == "at_retry":
        fill_on(fakes, coid, 2, "/decrease")
    if second_fill == "after_pass":
        with fakes.kalshi.olock:
            o = theirs(fakes, coid)
            if o["status"] == "resting":
                fakes.kalshi.fill(o, min(Decimal(2), o["count"] - o["fill_count"]), bid, taker=False)
    for _ in range(3):
        ex.reconcile()
    fakes.kalshi.before.clear()

    o = theirs(fakes, coid)
    state, filled, remaining = exchange_view(o)
    assert filled + remaining <= TARGET, (o, ours(db, oid))
    assert ours(db, oid)[0] == state and ours(db, oid)[2] == filled and ours(db, oid)[3] == remaining, (o, ours(db, oid))

    db.admin.execute("update ops.trading_state set state = 'HALTED', reason = 'test'")
    ex.reconcile()
    assert [x for x in fakes.kalshi.orders.values() if x["status"] == "resting"] == []
    assert ours(db, oid)[0] == exchange_view(theirs(fakes, coid))[0]


def test_fills_beyond_the_target_before_a_failed_decrease_is_retried_cancel_the_rest(db, fakes, exchange):
    """The drill's case: order 50, 3 filled, the cycle keeps 33 (target 36); the first decrease gets a
    500; 46 fill before the retry (49 filled, 1 left). Our row must say 49 filled of 50 and the one left
    is cancelled (the target is passed by fills alone); HALTED cancels nothing of ours is left resting."""
    t, bid, oid, ex, coid = resting_order(db, fakes, exchange, 50)
    with fakes.kalshi.olock:
        fakes.kalshi.fill(theirs(fakes, coid), Decimal(3), bid, taker=False)
    ex.reconcile()
    assert ours(db, oid)[:3] == ("PARTIALLY_FILLED", 50, 3)
    ask_decrease(db, oid, 33)
    fakes.kalshi.fault("500", r"/decrease$", times=1)
    ex.reconcile()
    with fakes.kalshi.olock:
        fakes.kalshi.fill(theirs(fakes, coid), Decimal(46), bid, taker=False)
    ex.reconcile()
    ex.reconcile()
    o = theirs(fakes, coid)
    assert o["status"] != "resting", o
    assert ours(db, oid)[2] == o["fill_count"] == 49
    assert ours(db, oid)[0] == exchange_view(o)[0]


def test_an_order_recorded_filled_but_listed_resting_is_live_again_and_halt_cancels_it(db, fakes, exchange):
    """Whatever we recorded, the listing wins: a row wrongly FILLED at an understated count whose order
    rests at the exchange is reopened with the exchange's count, and the kill switch cancels it."""
    t, bid, oid, ex, coid = resting_order(db, fakes, exchange, 10)
    with fakes.kalshi.olock:
        fakes.kalshi.fill(theirs(fakes, coid), Decimal(3), bid, taker=False)
    # the old defect's end state: count understated to what filled, FILLED
    db.admin.execute("select set_config('milkbot.transition_reason', 'test: the old understated count', false)")
    db.admin.execute("update ops.orders set count = 3, filled_count = 3, state = 'FILLED' where id = %s", (oid,))
    ex.reconcile()
    assert ours(db, oid) == ("PARTIALLY_FILLED", 10, 3, 7)
    db.admin.execute("update ops.trading_state set state = 'HALTED', reason = 'test'")
    ex.reconcile()
    assert theirs(fakes, coid)["status"] == "canceled" and ours(db, oid)[0] == "CANCELED"


def presumed_absent(db, fakes, ex, clock, t, price) -> int:
    """An order whose POST got no answer, not listed over the grace period: ABSENT_PRESUMED."""
    oid = intent(db, t, str(price))
    fakes.kalshi.fault("drop", r"/portfolio/events/orders$", times=1)
    ex.drain()
    grace = float(db.admin.execute("select ops.executor_param('unknown_grace_s')").fetchone()[0])
    reads = int(db.admin.execute("select ops.executor_param('unknown_min_reads')").fetchone()[0])
    for _ in range(reads):
        clock.advance(grace)
        ex.reconcile()
    assert order(db, oid)[0] == "ABSENT_PRESUMED"
    return oid


def test_an_absent_presumed_order_that_lands_beside_a_new_live_order_is_adopted_and_cancelled(db, fakes, exchange):
    """D2: the cycle placed a new order on the market after the first was presumed absent; the first then
    lands. Adoption must not fail (the one-live-order index): it is recorded, cancelled at once, raised."""
    t = fakes.ticker()
    bid, _ = ask_of(fakes, t)
    clock = Clock()
    ex = executor(db, fakes, exchange, now=clock)
    first = presumed_absent(db, fakes, ex, clock, t, bid)
    # ABSENT_PRESUMED still counts as working exposure (it may yet appear), but no longer blocks the market
    assert db.admin.execute("select count(*) from ops.working_orders(%s, 'demo') where order_id = %s",
                            (clock(), first)).fetchone()[0] == 1
    second = intent(db, t, str(bid - Decimal("0.01")), count=4)
    ex.drain()
    assert order(db, second)[0] == "RESTING"
    fakes.kalshi.create_order({"ticker": t, "side": "bid", "count": "5.00", "price": f"{bid:.4f}",
                               "client_order_id": coid_of(db, first), "time_in_force": "good_till_canceled",
                               "self_trade_prevention_type": "taker_at_cross"})
    ex.reconcile()
    assert order(db, first)[0] == "CANCELED" and theirs(fakes, coid_of(db, first))["status"] == "canceled"
    assert order(db, second)[0] == "RESTING"
    assert db.admin.execute("select count(*) from ops.risk_events where kind = 'surplus_order'").fetchone()[0] == 1
    db.admin.execute("update ops.trading_state set state = 'HALTED', reason = 'test'")
    ex.reconcile()
    assert [x for x in fakes.kalshi.orders.values() if x["status"] == "resting"] == []


def test_an_unknown_order_with_our_prefix_beside_a_live_order_is_adopted_and_cancelled(db, fakes, exchange):
    """D2, restore from a backup: the exchange lists an order of ours we have no row for, on a market
    with a live order. Adopted (never a failed listing), cancelled, the live order untouched."""
    t = fakes.ticker()
    bid, _ = ask_of(fakes, t)
    live = intent(db, t, str(bid), count=4)
    ex = executor(db, fakes, exchange)
    ex.drain()
    fakes.kalshi.create_order({"ticker": t, "side": "bid", "count": "7.00", "price": f"{bid - Decimal('0.01'):.4f}",
                               "client_order_id": "mb-restored-000001", "time_in_force": "good_till_canceled",
                               "self_trade_prevention_type": "taker_at_cross"})
    ex.reconcile()
    assert theirs(fakes, "mb-restored-000001")["status"] == "canceled"
    assert db.admin.execute("select state::text from ops.orders where client_order_id = 'mb-restored-000001'").fetchone()[0] == "CANCELED"
    assert order(db, live)[0] == "RESTING"
    kinds = [k for k, in db.admin.execute("select kind from ops.risk_events order by id")]
    assert "order_adopted" in kinds and "surplus_order" in kinds


def test_halt_cancels_known_orders_while_the_listing_cannot_be_read(db, fakes, exchange):
    """D3: GET /portfolio/orders fails on every attempt; HALTED still cancels every order of ours with a
    known exchange id — including one we wrongly hold as FILLED while it rests — and the listing is
    retried on its own."""
    t1, t2 = fakes.ticker(i=2), fakes.ticker(i=3)
    ids = []
    for t in (t1, t2):
        bid, _ = ask_of(fakes, t)
        ids.append(intent(db, t, str(bid), count=6))
    ex = executor(db, fakes, exchange)
    ex.drain()
    db.admin.execute("select set_config('milkbot.transition_reason', 'test: recorded filled, still resting', false)")
    db.admin.execute("update ops.orders set filled_count = count, state = 'FILLED' where id = %s", (ids[1],))
    db.admin.execute("update ops.trading_state set state = 'HALTED', reason = 'test'")
    fakes.kalshi.fault("500", r"/portfolio/orders$", times=12)
    rep = ex.reconcile()
    assert [o["status"] for o in fakes.kalshi.orders.values()] == ["canceled", "canceled"], rep
    assert order(db, ids[0])[0] == "CANCELED"
    assert rep.get("listing") and "failed" in rep["listing"]
    fakes.kalshi.clear_faults()
    ex.reconcile()
    assert order(db, ids[1])[0] == "CANCELED"       # the listing, read again, corrects our record


# (paper fills, the cycle's decrease and cancel before the tape: tests/test_paper_fills.py)


def test_a_fill_racing_the_positions_read_is_not_a_mismatch(db, fakes, exchange):
    """A fill that lands between our fills pull and GET /portfolio/positions made the exchange's position
    differ from our ledger for one pass: a position_mismatch risk event (two at once -> REDUCING). Fills
    are pulled again after the positions; a market whose fills moved in between is in flight and compared
    on the next pass."""
    t, bid, oid, ex, coid = resting_order(db, fakes, exchange, 10)
    fill_on(fakes, coid, 2, "/portfolio/positions")
    rep = ex.reconcile()
    assert rep["mismatches"] == 0, rep
    assert db.admin.execute("select count(*) from ops.risk_events where kind = 'position_mismatch'").fetchone()[0] == 0
    assert ex.reconcile()["mismatches"] == 0
    assert db.admin.execute("select position from ops.positions where ticker = %s", (t,)).fetchone()[0] == 2
