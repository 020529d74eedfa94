"""The executor against the fake exchange: every reply ends in the right state with a recorded event,
kills at each step converge to exactly one order per intent, fills are counted once, HALTED stops
sends, paper mode never touches a trading endpoint or a key."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from fakes.harness import NOW
from fakes.waiting import wait_for
from workers.executor.brokers import KalshiBroker, PaperBroker
from workers.executor.main import ConfigError, Executor, make_broker
from workers.ingest.main import Ingest

MILKBOT = str(Path(sys.executable).parent / "milkbot")


@pytest.fixture
def db(world_db):
    """The fake exchange's markets, books and weather already in the test database (one ingest pass)."""
    return world_db


@pytest.fixture
def exchange(db, fakes):
    """Markets from the fake exchange in the test database, and a demo-mode executor wired to it."""
    settings = dataclasses.replace(fakes.settings, mode="demo")
    return settings


class Clock:
    """The executor's clock, moved by the test (never by waiting)."""

    def __init__(self, at=NOW):
        self.at = at

    def __call__(self):
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def executor(db, fakes, settings, now=None) -> Executor:
    from workers.common.http import Client
    client = Client(settings.kalshi_base_url, {"Accept": "application/json"}, timeout=1.0, attempts=1, signer=fakes.signer(),
                    backoff=0.01)
    conn = db.connect("milkbot_executor", autocommit=False)
    return Executor(settings, conn, KalshiBroker(client, "fake"), "fake", now=now or (lambda: NOW))


def intent(db, ticker: str, price: str, count: int = 5, side: str = "bid", mode: str = "demo",
           tif: str = "good_till_canceled") -> int:
    oid = db.admin.execute(
        """insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of, time_in_force)
           values (%s, %s, %s, 'DailyHigh', %s, %s, %s, %s, 'fake', %s, %s) returning id""",
        (f"test|{ticker}|{price}|{count}", f"mb-test-{abs(hash((ticker, price, count))) % 10**12:012d}", ticker, side,
         Decimal(price), count, mode, NOW, tif)).fetchone()[0]
    db.admin.execute("select pgmq.send('order_intents', jsonb_build_object('action', 'submit', 'order_id', %s::bigint))", (oid,))
    return oid


def order(db, oid):
    return db.admin.execute("select state::text, exchange_order_id, filled_count, last_error from ops.orders where id = %s", (oid,)).fetchone()


def history(db, oid):
    return [r[0] for r in db.admin.execute("select to_state::text from ops.order_events where order_id = %s order by id", (oid,))]


def ask_of(fakes, ticker):
    found = fakes.world.find_bracket(ticker)
    return fakes.world.quote(ticker, found[3])


def test_accepted_order_fills_and_reconciles(db, fakes, exchange):
    t = fakes.ticker()
    bid, ask = ask_of(fakes, t)
    oid = intent(db, t, str(ask))                     # crosses: fills at once
    ex = executor(db, fakes, exchange)
    assert ex.drain() == 1
    state, xid, filled, _ = order(db, oid)
    assert state == "FILLED" and xid and filled == 5
    rep = ex.reconcile()
    assert rep["fills"] == 1 and rep["mismatches"] == 0
    assert db.admin.execute("select order_id, count from ops.fills").fetchall() == [(oid, Decimal("5.00"))]
    assert ex.reconcile()["fills"] == 0               # the ledger never counts a fill twice
    assert db.admin.execute("select ours, exchange, difference from ops.v_positions").fetchall() == [(5, 5, 0)]
    assert history(db, oid) == ["PENDING", "SUBMITTING", "FILLED"]
    assert db.admin.execute("select count(*) from pgmq.q_order_intents").fetchone()[0] == 0


def resting(db, fakes, exchange):
    """A bid below the ask, sent: (ticker, order id, executor), the order RESTING at the exchange."""
    t = fakes.ticker()
    bid, _ = ask_of(fakes, t)
    oid = intent(db, t, str(bid))
    ex = executor(db, fakes, exchange)
    ex.drain()
    return t, oid, ex


def test_resting_order_then_superseded_is_cancelled(db, fakes, exchange):
    t, oid, ex = resting(db, fakes, exchange)
    assert order(db, oid)[0] == "RESTING"
    assert ex.cancel_sweep() == 0                     # hours before close, current: nothing to cancel
    newer = intent(db, fakes.ticker(i=3), "0.01", count=4)   # stands in for the cycle's replacement
    db.admin.execute("update ops.orders set superseded_by = %s where id = %s", (newer, oid))
    assert ex.cancel_sweep() == 1
    assert history(db, oid)[-2:] == ["CANCEL_PENDING", "CANCELED"]
    assert order(db, newer)[0] == "PENDING"           # the replacement itself is not swept
    assert [o["status"] for o in fakes.kalshi.orders.values()] == ["canceled"]


def test_a_decrease_the_cycle_asked_for_is_sent_and_recorded(db, fakes, exchange):
    """ops.orders.decrease_to (a target total set by the cycle) -> POST .../decrease with reduce_by = count -
    target; the order keeps its full size until the exchange confirms, then count = the target."""
    t, oid, ex = resting(db, fakes, exchange)
    count = db.admin.execute("select count from ops.orders where id = %s", (oid,)).fetchone()[0]
    db.admin.execute("update ops.orders set decrease_to = 2, decrease_requested_at = %s where id = %s", (NOW, oid))
    db.admin.execute("select pgmq.send('order_intents', jsonb_build_object('action', 'decrease', 'order_id', %s::bigint))", (oid,))
    fakes.kalshi.fault("drop", r"/decrease$")          # the first attempt gets no answer: nothing changes here
    assert ex.drain() == 1 and ex.decrease_sweep() == 0   # not re-sent blind: a lost reply may have applied it
    assert ex.reconcile()["decreases"] == 1               # the listing shows it unapplied: sent again
    ours = db.admin.execute("select count, filled_count, decrease_to, state::text from ops.orders where id = %s", (oid,)).fetchone()
    assert ours == (Decimal(2), Decimal(0), None, "RESTING"), ours
    theirs = next(iter(fakes.kalshi.orders.values()))
    assert theirs["count"] - theirs["fill_count"] == 2 and count > 2
    assert sum(1 for m, p in fakes.kalshi.requests if p.endswith("/decrease")) == 2


def test_near_close_sweep_cancels_on_its_own(db, fakes, exchange):
    """No supersede, no withdrawal, trading ACTIVE: only the clock moves to within close_buffer_min."""
    t, oid, ex = resting(db, fakes, exchange)
    close, buffer = db.admin.execute(
        """select m.close_time, (select value from ops.strategy_params where strategy = 'all' and name = 'close_buffer_min')
             from ops.markets m where ticker = %s""", (t,)).fetchone()
    ex.now = lambda: close - timedelta(minutes=float(buffer) + 1)
    assert ex.cancel_sweep() == 0 and order(db, oid)[0] == "RESTING"      # a minute outside the buffer
    ex.now = lambda: close - timedelta(minutes=float(buffer) - 1)
    assert ex.cancel_sweep() == 1 and order(db, oid)[0] == "CANCELED"     # a minute inside it


def test_halted_sweep_cancels_resting_orders(db, fakes, exchange):
    _, oid, ex = resting(db, fakes, exchange)
    assert ex.cancel_sweep() == 0
    db.admin.execute("update ops.trading_state set state = 'HALTED', reason = 'drill'")
    assert ex.cancel_sweep() == 1
    assert order(db, oid)[0] == "CANCELED" and [o["status"] for o in fakes.kalshi.orders.values()] == ["canceled"]


@pytest.mark.parametrize("setup, reason", [
    ("update ops.orders set mode = 'paper' where id = %(oid)s", "intent made for paper mode, executor runs demo"),
    ("update ops.orders set superseded_by = %(newer)s where id = %(oid)s", "intent no longer current"),
    ("update ops.trading_state set state = 'REDUCING', reason = 'test'", "trading REDUCING: order does not reduce exposure"),
])
def test_intents_that_must_not_be_sent_are_cancelled_at_submit(db, fakes, exchange, setup, reason):
    t, other = fakes.ticker(i=2), fakes.ticker(i=3)
    bid, _ = ask_of(fakes, t)
    oid = intent(db, t, str(bid))
    newer = intent(db, other, "0.01")
    db.admin.execute(setup, {"oid": oid, "newer": newer})
    ex = executor(db, fakes, exchange)
    ex.drain(max_messages=1)                          # the first message: our intent
    assert order(db, oid)[0] == "CANCELED"
    assert db.admin.execute("select reason from ops.order_events where order_id = %s order by id desc limit 1", (oid,)).fetchone()[0] == reason
    assert not any(m == "POST" for m, p in fakes.kalshi.requests)


def test_reducing_still_sends_an_order_that_reduces(db, fakes, exchange):
    t = fakes.ticker()
    bid, _ = ask_of(fakes, t)
    oid = intent(db, t, str(bid))
    db.admin.execute("update ops.orders set reduces_exposure = true where id = %s", (oid,))
    db.admin.execute("update ops.trading_state set state = 'REDUCING', reason = 'test'")
    executor(db, fakes, exchange).drain()
    assert order(db, oid)[0] == "RESTING" and sum(1 for m, p in fakes.kalshi.requests if m == "POST") == 1


def test_409_adopts_the_existing_order(db, fakes, exchange):
    t = fakes.ticker()
    bid, _ = ask_of(fakes, t)
    oid = intent(db, t, str(bid))
    coid = db.admin.execute("select client_order_id from ops.orders where id = %s", (oid,)).fetchone()[0]
    fakes.kalshi.create_order({"ticker": t, "side": "bid", "count": "5.00", "price": f"{bid:.4f}", "client_order_id": coid,
                               "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"})
    ex = executor(db, fakes, exchange)
    ex.drain()
    assert order(db, oid)[0] == "UNKNOWN"           # 409: an order with our id exists; the listing says which
    ex.reconcile()
    state, xid, _, _ = order(db, oid)
    assert state == "RESTING" and xid == fakes.kalshi.by_client[coid] and len(fakes.kalshi.orders) == 1
    assert "adopted" in db.admin.execute("select reason from ops.order_events where order_id = %s order by id desc limit 1", (oid,)).fetchone()[0]
    assert sum(1 for m, p in fakes.kalshi.requests if m == "POST") == 1


def test_400_is_rejected_with_the_exchange_code(db, fakes, exchange):
    oid = intent(db, fakes.ticker(), "0.2250")        # off the cent grid
    executor(db, fakes, exchange).drain()
    state, _, _, err = order(db, oid)
    assert state == "REJECTED" and "invalid_price" in err and fakes.kalshi.orders == {}


@pytest.mark.parametrize("fault, placed", [("500", False), ("429", False), ("timeout", "late"), ("land_late", "late"),
                                           ("drop", False), ("accept_then_drop", True), ("accept_then_timeout", True),
                                           ("500_after_create", True), ("malformed", False)])
def test_unclear_replies_stay_unknown_until_found_or_proven_absent(db, fakes, exchange, fault, placed):
    """UNKNOWN is never turned into "never placed" by one listing: it is adopted when it appears (also
    after the client gave up), and presumed absent only after unknown_min_reads listings spread over
    unknown_grace_s. The clock is the test's: absence is proven by advancing it, not by waiting."""
    t = fakes.ticker()
    bid, _ = ask_of(fakes, t)
    oid = intent(db, t, str(bid))
    fakes.kalshi.fault(fault, r"/portfolio/events/orders$", times=1, delay=1.5)
    clock = Clock()
    ex = executor(db, fakes, exchange, now=clock)
    ex.drain()
    state, _, _, err = order(db, oid)
    assert state == "UNKNOWN" and err, (state, err)
    assert db.admin.execute("select count(*) from ops.order_events where order_id = %s and to_state = 'UNKNOWN'", (oid,)).fetchone()[0] == 1
    if placed == "late":
        # the create lands only after the client gave up. A listing now does not show it: the old code
        # called it "never placed" here (the ghost order); it must stay UNKNOWN, its market blocked
        ex.reconcile()
        assert order(db, oid)[0] == "UNKNOWN" or fakes.kalshi.orders
        wait_for(lambda: fakes.kalshi.orders, "the late create to land at the exchange")
    if placed:
        ex.reconcile()                                # found: adopted; never re-sent
        assert order(db, oid)[0] == "RESTING"
    else:
        grace = db.admin.execute("select ops.executor_param('unknown_grace_s')").fetchone()[0]
        reads = int(db.admin.execute("select ops.executor_param('unknown_min_reads')").fetchone()[0])
        for _ in range(reads - 1):                    # enough time, too few reads: still unknown
            clock.advance(float(grace))
            ex.reconcile()
        assert order(db, oid)[0] == "UNKNOWN"
        ex.reconcile()
        assert order(db, oid)[0] == "ABSENT_PRESUMED"
        assert db.admin.execute("select count(*) from ops.risk_events where kind = 'absent_presumed'").fetchone()[0] == 1
    assert len(fakes.kalshi.orders) == (1 if placed else 0)
    assert sum(1 for m, p in fakes.kalshi.requests if m == "POST") == 1


def test_a_presumed_absent_order_that_appears_later_is_adopted(db, fakes, exchange):
    """Reads before the grace period ends are not proof: with too few reads spanning the grace period the
    order stays UNKNOWN; and an order presumed absent that appears after all is adopted, with its fills."""
    t = fakes.ticker()
    _, ask = ask_of(fakes, t)
    oid = intent(db, t, str(ask))                     # crosses: it fills when it lands
    fakes.kalshi.fault("drop", r"/portfolio/events/orders$", times=1)
    clock = Clock()
    ex = executor(db, fakes, exchange, now=clock)
    ex.drain()
    reads = int(db.admin.execute("select ops.executor_param('unknown_min_reads')").fetchone()[0])
    for _ in range(reads + 2):                        # many reads, but all within the grace period
        clock.advance(1)
        ex.reconcile()
    assert order(db, oid)[0] == "UNKNOWN"
    clock.advance(float(db.admin.execute("select ops.executor_param('unknown_grace_s')").fetchone()[0]))
    ex.reconcile()
    assert order(db, oid)[0] == "ABSENT_PRESUMED"
    coid = db.admin.execute("select client_order_id from ops.orders where id = %s", (oid,)).fetchone()[0]
    fakes.kalshi.create_order({"ticker": t, "side": "bid", "count": "5.00", "price": f"{ask:.4f}", "client_order_id": coid,
                               "time_in_force": "immediate_or_cancel", "self_trade_prevention_type": "taker_at_cross"})
    ex.reconcile()
    state, xid, filled, _ = order(db, oid)
    assert state == "FILLED" and xid == fakes.kalshi.by_client[coid] and filled == 5
    assert db.admin.execute("select count(*) from ops.v_fills where out_of_band").fetchone()[0] == 0


def test_out_of_band_fill_is_picked_up_and_positions_reconcile(db, fakes, exchange):
    t = fakes.ticker()
    fakes.kalshi.create_order({"ticker": t, "side": "ask", "count": "3.00", "price": "0.01",
                               "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"})
    ex = executor(db, fakes, exchange)
    rep = ex.reconcile()
    assert rep["fills"] == 1 and rep["mismatches"] == 0
    assert db.admin.execute("select out_of_band, side, count from ops.v_fills").fetchall() == [(True, "ask", Decimal("3.00"))]
    assert db.admin.execute("select ours, exchange from ops.v_positions").fetchall() == [(-3, -3)]


def test_position_mismatch_is_a_risk_event_and_reduces(db, fakes, exchange):
    t = fakes.ticker()
    fakes.kalshi.create_order({"ticker": t, "side": "ask", "count": "3.00", "price": "0.01",
                               "time_in_force": "good_till_canceled", "self_trade_prevention_type": "taker_at_cross"})
    fakes.kalshi.fills.clear()                        # the exchange forgets the fill but keeps a position
    fakes.kalshi.positions = lambda: [{"ticker": t, "position_fp": "-3.00"}, {"ticker": fakes.ticker(i=3), "position_fp": "7.00"}]
    rep = executor(db, fakes, exchange).reconcile()
    assert rep["mismatches"] == 2
    assert db.admin.execute("select state::text from ops.trading_state").fetchone()[0] == "REDUCING"
    assert db.admin.execute("select kind, severity from ops.risk_events").fetchall() == [("position_mismatch", "critical")]
    assert db.admin.execute("select error_count > 0 from ops.health_status where component = 'reconciler'").fetchone()[0]


def test_halted_stops_submission_before_the_next_send(db, fakes, exchange):
    t = fakes.ticker()
    bid, _ = ask_of(fakes, t)
    oid = intent(db, t, str(bid))
    db.admin.execute("update ops.trading_state set state = 'HALTED', reason = 'test'")
    executor(db, fakes, exchange).drain()
    assert order(db, oid)[0] == "CANCELED" and fakes.kalshi.orders == {}
    assert not any(m == "POST" for m, p in fakes.kalshi.requests)


def test_paper_mode_never_touches_trading_endpoints_or_keys(db, fakes, monkeypatch):
    n, k = fakes.clients()
    Ingest(fakes.settings, db.connect("milkbot_ingest", autocommit=False), n, k, now=lambda: NOW).run_once(weather=False, cycle=False)
    fakes.kalshi.requests.clear()
    from workers.common import kalshi_auth
    monkeypatch.setattr(kalshi_auth.KalshiSigner, "from_file", lambda *a, **kw: pytest.fail("paper mode read a key"))
    settings = dataclasses.replace(fakes.settings, mode="paper",
                                   extra={**fakes.settings.extra, "MILKBOT_KALSHI_KEY_ID": "x", "MILKBOT_KALSHI_KEY_FILE": "/nonexistent"})
    conn = db.connect("milkbot_executor", autocommit=False)
    broker, host = make_broker(settings, conn)
    assert isinstance(broker, PaperBroker) and host == "paper" and not hasattr(broker, "http")
    t = fakes.ticker()
    bid, ask = ask_of(fakes, t)
    oid = intent(db, t, str(ask), count=80, mode="paper")       # more than the 50 displayed
    ex = Executor(settings, conn, broker, host, now=lambda: NOW)
    ex.drain()
    ex.reconcile()
    state, _, filled, _ = order(db, oid)
    assert (state, filled) == ("PARTIALLY_FILLED", 50)          # only the displayed size, at the book's price
    assert db.admin.execute("select yes_price from ops.fills").fetchall() == [(ask,)]
    ex.reconcile()
    assert order(db, oid)[2] == 50                              # the same book is not used twice
    assert fakes.kalshi.requests == []


def test_mode_guards(fakes, tmp_path):
    base = fakes.settings
    with pytest.raises(ConfigError, match="needs MILKBOT_KALSHI_KEY_ID"):
        make_broker(dataclasses.replace(base, mode="demo"), None)
    key = tmp_path / "k.pem"
    key.write_bytes(fakes.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    creds = {**base.extra, "MILKBOT_KALSHI_KEY_ID": "id", "MILKBOT_KALSHI_KEY_FILE": str(key)}
    with pytest.raises(ConfigError, match="MILKBOT_LIVE_CONFIRM"):
        make_broker(dataclasses.replace(base, mode="live", extra=creds), None)
    live = {**creds, "MILKBOT_LIVE_CONFIRM": "I-understand-this-trades-real-money"}
    with pytest.raises(ConfigError, match="configured for demo"):
        make_broker(dataclasses.replace(base, mode="live", extra=live), None)
    with pytest.raises(ConfigError, match="configured for demo"):
        make_broker(dataclasses.replace(base, mode="live", kalshi_base_url="https://demo-api.kalshi.co/trade-api/v2",
                                        extra={**live, "MILKBOT_KALSHI_KEY_ENVIRONMENT": "live"}), None)
    broker, host = make_broker(dataclasses.replace(base, mode="demo", extra=creds), None)
    assert host == "127.0.0.1:" + base.kalshi_base_url.split(":")[2].split("/")[0]
    assert "BEGIN" not in repr(broker.http.signer)


@pytest.mark.parametrize("step", ["before_post", "after_post", "after_record"])
def test_sigkill_at_each_step_converges_to_one_order(db, fakes, exchange, tmp_path, step):
    t = fakes.ticker()
    bid, ask = ask_of(fakes, t)
    oid = intent(db, t, str(ask))                     # fills at once, so fills are checked too
    key = tmp_path / "k.pem"
    key.write_bytes(fakes.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILKBOT_")}
    env.update(MILKBOT_ENV_FILE="/nonexistent", MILKBOT_DB_NAME=db.name, MILKBOT_MODE="demo",
               MILKBOT_KALSHI_BASE_URL=fakes.kalshi_url, MILKBOT_KALSHI_KEY_ID="fake", MILKBOT_KALSHI_KEY_FILE=str(key),
               MILKBOT_EXECUTOR_VT="1", MILKBOT_HTTP_TIMEOUT="2", MILKBOT_CLOCK=NOW.isoformat())
    for k in ("MILKBOT_PG_PORT", "MILKBOT_STATE_DIR", "MILKBOT_DATABASE_URL"):
        if k in os.environ:
            env[k] = os.environ[k]
    crashed = subprocess.run([MILKBOT, "execute", "--once"], env={**env, "MILKBOT_EXECUTOR_CRASH_AT": step},
                             capture_output=True, text=True, timeout=60)
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr
    wait_for(lambda: db.admin.execute("select count(*) from pgmq.q_order_intents where vt <= clock_timestamp()").fetchone()[0],
             "the unarchived message to become visible again (vt 1 s)")
    again = subprocess.run([MILKBOT, "execute", "--once"], env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stdout + again.stderr
    assert db.admin.execute("select count(*) from pgmq.q_order_intents").fetchone()[0] == 0
    assert sum(1 for m, p in fakes.kalshi.requests if m == "POST") <= 1   # never sent twice
    if step == "before_post":
        # SUBMITTING was committed, the POST never left: from outside that is indistinguishable from a
        # lost reply, so it is UNKNOWN (its market blocked) until proven absent; never re-sent
        assert len(fakes.kalshi.orders) == 0 and order(db, oid)[0] == "UNKNOWN"
        return
    assert len(fakes.kalshi.orders) == 1              # exactly one order at the exchange for the intent
    state, xid, filled, _ = order(db, oid)
    assert state == "FILLED" and xid == next(iter(fakes.kalshi.orders)) and filled == 5
    assert db.admin.execute("select count(*), sum(count) from ops.fills").fetchone() == (1, Decimal("5.00"))
    # the fill was pulled before its order was known (after_post): linked all the same
    assert db.admin.execute("select count(*) from ops.v_fills where out_of_band").fetchone()[0] == 0


def test_settlement_closes_positions_at_one_or_zero_net_of_fees(db, fakes, exchange):
    t_win, t_lose = fakes.ticker(i=2), fakes.ticker(i=3)
    for t in (t_win, t_lose):
        _, ask = ask_of(fakes, t)
        intent(db, t, str(ask), count=10)
    ex = executor(db, fakes, exchange)
    ex.drain()
    ex.reconcile()
    cost = dict(db.admin.execute("select ticker, sum(yes_price * count) from ops.fills group by ticker").fetchall())
    fees = dict(db.admin.execute("select ticker, sum(fee) from ops.fills group by ticker").fetchall())
    db.admin.execute("update ops.markets set status = 'finalized', result = case when ticker = %s then 'yes' else 'no' end where ticker in (%s, %s)",
                     (t_win, t_win, t_lose))
    fakes.kalshi.settled.update({t_win: "yes", t_lose: "no"})
    fakes.kalshi.positions = lambda: []          # the exchange closes settled positions
    ex.reconcile()
    rows = dict((r[0], r[1:]) for r in db.admin.execute("select ticker, ours, realized_pnl, settled_at is not null from ops.v_positions"))
    assert rows[t_win] == (0, 10 - cost[t_win] - fees[t_win], True)
    assert rows[t_lose] == (0, -cost[t_lose] - fees[t_lose], True)


def test_a_cancel_that_does_not_land_is_resolved(db, fakes, exchange):
    t = fakes.ticker()
    bid, _ = ask_of(fakes, t)
    oid = intent(db, t, str(bid))
    ex = executor(db, fakes, exchange)
    ex.drain()
    assert ex.cancel_sweep() == 0                      # current, far from close: nothing to cancel yet
    db.admin.execute("update ops.orders set cancel_requested_at = %s where id = %s", (NOW, oid))
    fakes.kalshi.fault("500", r"/portfolio/events/orders/[0-9a-f-]+$", times=1)
    assert ex.cancel_sweep() == 0
    assert order(db, oid)[0] == "CANCEL_PENDING" and "500" in order(db, oid)[3]
    ex.reconcile()                                     # sees it still resting at the exchange: cancels again
    assert order(db, oid)[0] == "CANCELED"
    assert [o["status"] for o in fakes.kalshi.orders.values()] == ["canceled"]


def test_fill_pulls_start_from_what_the_ledger_holds(db, fakes, exchange):
    t = fakes.ticker()
    _, ask = ask_of(fakes, t)
    intent(db, t, str(ask))
    ex = executor(db, fakes, exchange)
    ex.drain()
    ex.reconcile()
    fakes.kalshi.requests.clear()
    ex.reconcile()
    assert any(p.endswith("/portfolio/fills") for m, p in fakes.kalshi.requests)
    since = int(fakes.kalshi.queries["/trade-api/v2/portfolio/fills"]["min_ts"])
    assert since == int(NOW.timestamp()) - 3600          # the newest recorded fill, less an hour of overlap
    assert db.admin.execute("select count(*) from ops.fills").fetchone()[0] == 1
