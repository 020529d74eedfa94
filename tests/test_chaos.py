"""Chaos drill: the executor, SIGKILLed at random moments, against the fake exchange drawing a random
fault per request (timeouts whose create lands after the client gave up, 500 before and after creating,
429, dropped and malformed replies, accept-then-drop), with intents and cancels queued while it runs and
resting orders filled later. Kills are driven by events (the exchange answering a drawn number of
requests), never by sleeps. At the end, with the faults off, one executor converges and we check:

* one exchange order per intent at most (never a duplicate client_order_id), none unknown to us;
* no order unknown to us left resting;
* every fill linked to its order;
* every order's state and filled count equal to the exchange's;
* positions equal to the exchange's.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import serialization

from fakes.waiting import wait_for
from test_executor import MILKBOT, NOW, ask_of, db, exchange  # noqa: F401 (the fixtures)


def intent(db, n: int, ticker: str, price: str, count: int, tif: str) -> int:
    """An intent as the cycle writes it (order row + queue message, one transaction)."""
    with db.admin.transaction():
        oid = db.admin.execute(
            """insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of, time_in_force)
               values (%s, %s, %s, 'DailyHigh', 'bid', %s, %s, 'demo', 'fake', %s, %s) returning id""",
            (f"chaos|{n}|{ticker}", f"mb-chaos-{n:06d}", ticker, Decimal(price), count, NOW, tif)).fetchone()[0]
        db.admin.execute("select pgmq.send('order_intents', jsonb_build_object('action', 'submit', 'order_id', %s::bigint))", (oid,))
    return oid

ORDER_FAULTS = [(r"/portfolio/events/orders$", ["500", "500_after_create", "429", "timeout", "land_late", "drop",
                                                 "accept_then_drop", "accept_then_timeout", "malformed"]),
                (r"/portfolio/events/orders/[0-9a-f-]+$", ["500", "drop", "accept_then_drop"]),
                (r"/portfolio/(orders|fills|positions)$", ["500", "429", "drop", "malformed"])]
STATE_OF = {"executed": "FILLED", "canceled": "CANCELED", "resting": None}


def free_markets(db, tickers: list[str]) -> list[str]:
    """Markets without a live order of ours (the cycle places at most one per market)."""
    return [t for t in tickers if not db.admin.execute(
        """select 1 from ops.orders where ticker = %s and mode = 'demo' and superseded_by is null
             and cancel_requested_at is null
             and state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN')""", (t,)).fetchone()]


def executor_env(db, fakes, tmp_path) -> dict:
    """The environment of a demo-mode executor process against the fake exchange."""
    key = tmp_path / "k.pem"
    key.write_bytes(fakes.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILKBOT_")}
    env.update(MILKBOT_ENV_FILE="/nonexistent", MILKBOT_DB_NAME=db.name, MILKBOT_MODE="demo",
               MILKBOT_KALSHI_BASE_URL=fakes.kalshi_url, MILKBOT_KALSHI_KEY_ID="fake", MILKBOT_KALSHI_KEY_FILE=str(key),
               MILKBOT_EXECUTOR_VT="1", MILKBOT_HTTP_TIMEOUT="0.5",
               # the executor's clock starts at the fake world's instant and runs on: at the wall clock the
               # world's markets may already be closed (before 18:00 UTC, or on another date under faketime)
               MILKBOT_CLOCK=NOW.isoformat())
    for k in ("MILKBOT_PG_PORT", "MILKBOT_STATE_DIR", "MILKBOT_DATABASE_URL"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env


def drill_seed(db) -> tuple[int, random.Random]:
    seed = int(os.environ.get("MILKBOT_CHAOS_SEED", random.randrange(1 << 30)))
    print(f"chaos seed {seed} (MILKBOT_CHAOS_SEED reproduces it)")
    # a short grace so absence can be proven within the drill (still several HTTP timeouts long)
    db.admin.execute("""update ops.strategy_params set value = case name when 'unknown_grace_s' then 3
                                                                      when 'unknown_min_reads' then 2
                                                                      when 'stale_submitting_s' then 1 end
                         where strategy = 'all' and name in ('unknown_grace_s', 'unknown_min_reads', 'stale_submitting_s')""")
    return seed, random.Random(seed)


def run_until_requests(fakes, env, rng, what: str) -> None:
    """Run the executor until the exchange has answered a drawn number of requests, then SIGKILL it."""
    seen = len(fakes.kalshi.requests)
    proc = subprocess.Popen([MILKBOT, "execute"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        target = seen + rng.randint(1, 12)
        wait_for(lambda: len(fakes.kalshi.requests) >= target, f"{what}: the exchange to see {target - seen} requests",
                 timeout=20, gone=lambda: proc.poll() is not None and f"the executor exited by itself ({proc.returncode})")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


UNSETTLED = """select count(*) from ops.orders where state in ('PENDING', 'SUBMITTING', 'UNKNOWN', 'CANCEL_PENDING')
                  or (cancel_requested_at is not null and state in ('RESTING', 'PARTIALLY_FILLED'))
                  or (decrease_to is not null and state in ('RESTING', 'PARTIALLY_FILLED') and count > decrease_to)"""


def converge(db, proc_env, condition_sql: str = UNSETTLED):
    """Faults off: one executor runs until every order is resolved and every message handled, then one
    more full reconcile; returns its output."""
    proc = subprocess.Popen([MILKBOT, "execute"], env={**proc_env, "MILKBOT_HTTP_TIMEOUT": "2"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: db.admin.execute(condition_sql).fetchone()[0] == 0
                 and db.admin.execute("select count(*) from pgmq.q_order_intents").fetchone()[0] == 0,
                 "every order resolved and every message handled", timeout=30,
                 gone=lambda: proc.poll() is not None and f"the executor exited ({proc.returncode})")
        reconciled = db.admin.execute("select max(last_heartbeat) from ops.health_status where component = 'reconciler'").fetchone()[0]
        wait_for(lambda: db.admin.execute("select max(last_heartbeat) from ops.health_status where component = 'reconciler'").fetchone()[0] != reconciled,
                 "one more full reconcile with nothing left in doubt", timeout=20)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    return out


def assert_books_equal(db, fakes, report: str) -> dict:
    """Every exchange order is one of ours, once, with our state, filled count and id equal to its."""
    theirs = list(fakes.kalshi.orders.values())
    ours = {r[0]: r[1:] for r in db.admin.execute(
        "select client_order_id, id, state::text, filled_count, exchange_order_id, count from ops.orders where mode = 'demo'").fetchall()}
    coids = [o["client_order_id"] for o in theirs]
    assert len(coids) == len(set(coids)), report
    assert all(c in ours for c in coids), report
    for o in theirs:
        oid, state, filled, xid, count = ours[o["client_order_id"]]
        want = STATE_OF[o["status"]] or ("PARTIALLY_FILLED" if o["fill_count"] > 0 else "RESTING")
        assert (state, filled, xid) == (want, o["fill_count"], o["order_id"]), (report, o, ours[o["client_order_id"]])
        if o["status"] == "resting":
            assert count == o["count"], (report, "count", o, ours[o["client_order_id"]])
    return ours


@pytest.fixture
def feed(db, fakes):
    """The WebSocket feed beside the executor, carrying the fake exchange's own fill and user_order
    messages (the executor's fast path); the drill cuts it and garbles its private messages, so the
    exactly-once guarantees are shown with the feed on, dying and gone in one run (the resting-order
    drill below runs with REST alone)."""
    from milkbot.sim.kalshi_ws_fake import KalshiWsFake
    from test_feed import FeedThread
    from workers.common.kalshi_auth import KalshiSigner
    ws = KalshiWsFake(fakes.world, public_key=fakes.key.public_key()).attach(fakes.kalshi)
    thread = FeedThread(db, ws.start(), KalshiSigner("test-key", fakes.key))
    yield ws, thread
    thread.stop()
    ws.stop()


def test_executor_survives_kills_and_a_hostile_exchange_beside_a_dying_feed(db, fakes, exchange, feed, tmp_path):
    seed, rng = drill_seed(db)
    env = executor_env(db, fakes, tmp_path)
    fakes.kalshi.chaos = (rng, 0.3, ORDER_FAULTS, 0.8)     # a late landing comes 0.8 s after the send: past the 0.5 s timeout
    ws, thread = feed
    wait_for(lambda: thread.feed.sids.get("fill") and thread.feed.sids.get("user_orders"), "the feed's private channels",
             gone=thread.gone)

    tickers = [fakes.ticker(city=c, i=i) for c in ("NYC", "BOS", "CHI", "SEA") for i in range(1, 5)]
    intents: list[int] = []
    kills = 0
    for round_ in range(14):
        # the cycle keeps queuing: orders that cross (fill at once, IOC or GTC) and ones that rest
        for _ in range(rng.randint(1, 3)):
            free = free_markets(db, tickers)
            if not free:
                break
            t = rng.choice(free)
            bid, ask = ask_of(fakes, t)
            crosses = rng.random() < 0.5
            intents.append(intent(db, len(intents), t, str(ask if crosses else bid), rng.choice([3, 5, 60]),
                                  rng.choice(["immediate_or_cancel", "good_till_canceled"]) if crosses else "good_till_canceled"))
        # some resting orders are withdrawn by "the cycle", some fill later at the exchange
        for oid, in db.admin.execute("select id from ops.orders where state in ('RESTING', 'PARTIALLY_FILLED') and cancel_requested_at is null").fetchall():
            if rng.random() < 0.2:
                db.admin.execute("update ops.orders set cancel_requested_at = now() where id = %s", (oid,))
                db.admin.execute("select pgmq.send('order_intents', jsonb_build_object('action', 'cancel', 'order_id', %s::bigint))", (oid,))
        with fakes.kalshi.olock:
            resting = [o for o in fakes.kalshi.orders.values() if o["status"] == "resting"]
            for o in resting:
                if rng.random() < 0.3:
                    fakes.kalshi.fill(o, min(Decimal(rng.choice([1, 2])), o["count"] - o["fill_count"]), o["price"], taker=False)
        # the feed loses, repeats or reorders our private messages, and now and then dies (it reconnects)
        ws.private_faults = rng.choices(["drop", "duplicate", "reorder", "none"], k=rng.randint(0, 4))
        if rng.random() < 0.3:
            ws.disconnect_all()
        run_until_requests(fakes, env, rng, f"round {round_}")
        kills += 1

    # faults off: one executor converges (unknown outcomes found or presumed absent, cancels confirmed)
    fakes.kalshi.chaos = None
    fakes.kalshi.clear_faults()
    converge(db, env)
    report = f"seed {seed}, {kills} kills, {len(intents)} intents, {len(fakes.kalshi.orders)} exchange orders"
    stats = thread.feed.stats
    report += f", feed: {stats.connections} connections, {stats.fills} fills and {stats.order_updates} order updates first"
    print(report)
    assert stats.fills + stats.order_updates > 0 and thread.gone() is None, report
    ours = assert_books_equal(db, fakes, report)
    assert_nothing_lost(db, fakes, ours, report)
    assert len(intents) >= 10 and kills == 14, report


def assert_nothing_lost(db, fakes, ours: dict, report: str) -> None:
    # what never reached the exchange is final without being there
    at_exchange = {o["client_order_id"] for o in fakes.kalshi.orders.values()}
    for coid, (oid, state, filled, xid, count) in ours.items():
        if coid not in at_exchange:
            assert state in ("ABSENT_PRESUMED", "REJECTED", "CANCELED") and filled == 0, (report, coid, state)
    # every fill linked to its order; positions equal
    assert db.admin.execute("select count(*) from ops.v_fills where out_of_band").fetchone()[0] == 0, report
    assert db.admin.execute("select count(*) from ops.fills").fetchone()[0] == len(fakes.kalshi.fills), report
    positions = {p["ticker"]: Decimal(p["position_fp"]) for p in fakes.kalshi.positions()}
    mine = dict(db.admin.execute("select ticker, position from ops.positions where mode = 'demo' and position <> 0").fetchall())
    assert mine == {t: p for t, p in positions.items() if p != 0}, report


RESTING_FAULTS = [(r"/portfolio/events/orders$", ["500", "500_after_create", "429", "timeout", "drop", "accept_then_drop"]),
                  (r"/decrease$", ["500", "500_after_create", "drop", "accept_then_drop"]),
                  (r"/portfolio/events/orders/[0-9a-f-]+$", ["500", "drop", "accept_then_drop"]),
                  (r"/portfolio/(orders|fills|positions)$", ["500", "429", "drop", "malformed"])]


def test_resting_orders_decreased_and_cancelled_while_fills_race_then_halt(db, fakes, exchange, tmp_path):
    """The drill with resting (good-till-canceled) orders: between kills, operator limit changes make the
    cycle decrease (ops.request_decrease, a target total) and withdraw live orders; fills race those
    requests at the exchange (a hook fills the order just before the exchange processes its decrease or
    cancel), and decreases fail at random (500 before or after applying, lost replies). Then, faults off:
    every resting order of ours is within its decrease target and equal to the exchange's (count, filled,
    remaining); and after a HALT nothing of ours rests at the exchange."""
    seed, rng = drill_seed(db)
    race = random.Random(seed + 1)          # the hook runs in the exchange's threads: its own generator
    env = executor_env(db, fakes, tmp_path)
    fakes.kalshi.chaos = (rng, 0.3, RESTING_FAULTS, 0.8)
    races = {"decrease": 0, "cancel": 0}

    def fill_racing(method, path):
        kind = "decrease" if path.endswith("/decrease") else "cancel" if method == "DELETE" else None
        if kind is None:
            return
        xid = path.rstrip("/").split("/")[-2 if kind == "decrease" else -1]
        with fakes.kalshi.olock:
            o = fakes.kalshi.orders.get(xid)
            if o and o["status"] == "resting" and race.random() < 0.5:
                fakes.kalshi.fill(o, min(Decimal(race.choice([1, 2, 5])), o["count"] - o["fill_count"]), o["price"], taker=False)
                races[kind] += 1
    fakes.kalshi.before.append(fill_racing)

    tickers = [fakes.ticker(city=c, i=i) for c in ("NYC", "BOS", "CHI", "SEA") for i in range(1, 5)]
    intents, targets, kills, withdrawn = [], {}, 0, 0
    for round_ in range(12):
        for _ in range(rng.randint(1, 3)):
            free = free_markets(db, tickers)
            if not free:
                break
            t = rng.choice(free)
            bid, _ = ask_of(fakes, t)
            intents.append(intent(db, len(intents), t, str(bid), rng.choice([10, 20, 50]), "good_till_canceled"))
        # the operator tightens limits: the cycle keeps less of some live orders and withdraws others
        live = db.admin.execute("""select id, count, filled_count from ops.orders
                                    where state in ('RESTING', 'PARTIALLY_FILLED') and cancel_requested_at is null
                                      and superseded_by is null""").fetchall()
        for oid, count, filled in live:
            r = rng.random()
            if r < 0.5 and count - filled > 1:
                keep = rng.randint(0, int(count - filled) - 1)
                target = db.admin.execute("select ops.request_decrease(%s, %s, now())", (oid, keep)).fetchone()[0]
                targets[oid] = min(targets.get(oid, target), target)
                db.admin.execute("select pgmq.send('order_intents', jsonb_build_object('action', 'decrease', 'order_id', %s::bigint))", (oid,))
            elif r < 0.6:
                db.admin.execute("update ops.orders set cancel_requested_at = now() where id = %s", (oid,))
                db.admin.execute("select pgmq.send('order_intents', jsonb_build_object('action', 'cancel', 'order_id', %s::bigint))", (oid,))
                withdrawn += 1
        with fakes.kalshi.olock:     # and the market trades against what rests
            for o in [o for o in fakes.kalshi.orders.values() if o["status"] == "resting"]:
                if rng.random() < 0.3:
                    fakes.kalshi.fill(o, min(Decimal(rng.choice([1, 3])), o["count"] - o["fill_count"]), o["price"], taker=False)
        run_until_requests(fakes, env, rng, f"round {round_}")
        kills += 1

    fakes.kalshi.before.clear()
    fakes.kalshi.chaos = None
    fakes.kalshi.clear_faults()
    converge(db, env)
    report = (f"seed {seed}, {kills} kills, {len(intents)} intents, {len(targets)} decreased, {withdrawn} withdrawn, "
              f"races {races}, faults {sum(fakes.kalshi.injected.values())} {dict(sorted(fakes.kalshi.injected.items()))}, "
              f"{len(fakes.kalshi.orders)} exchange orders")
    print(report)
    ours = assert_books_equal(db, fakes, report)
    # a decrease never leaves more than its target resting: fills alone may pass it, never fills + rest
    by_id = {v[0]: k for k, v in ours.items()}
    for oid, target in targets.items():
        o = fakes.kalshi.orders.get(fakes.kalshi.by_client.get(by_id[oid], ""), None)
        if o is not None and o["status"] == "resting":
            assert o["count"] <= max(target, o["fill_count"]), (report, oid, target, o)
    assert_nothing_lost(db, fakes, ours, report)

    # the kill switch reaches every order of ours
    db.admin.execute("update ops.trading_state set state = 'HALTED', reason = 'drill'")
    converge(db, env, """select count(*) from ops.orders where state in ('RESTING', 'PARTIALLY_FILLED', 'CANCEL_PENDING')""")
    assert [o for o in fakes.kalshi.orders.values() if o["status"] == "resting"] == [], report
    assert_books_equal(db, fakes, report)
    assert len(intents) >= 10 and targets and kills == 12 and sum(races.values()) > 0, report
