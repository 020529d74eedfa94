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

from cryptography.hazmat.primitives import serialization

from fakes.waiting import wait_for
from test_executor import MILKBOT, NOW, ask_of, exchange  # noqa: F401 (the fixture)


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


def test_executor_survives_kills_and_a_hostile_exchange(db, fakes, exchange, tmp_path):
    seed = int(os.environ.get("MILKBOT_CHAOS_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print(f"chaos seed {seed} (MILKBOT_CHAOS_SEED reproduces it)")
    # a short grace so absence can be proven within the drill (still several HTTP timeouts long)
    db.admin.execute("""update ops.strategy_params set value = case name when 'unknown_grace_s' then 3
                                                                      when 'unknown_min_reads' then 2
                                                                      when 'stale_submitting_s' then 1 end
                         where strategy = 'all' and name in ('unknown_grace_s', 'unknown_min_reads', 'stale_submitting_s')""")
    key = tmp_path / "k.pem"
    key.write_bytes(fakes.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILKBOT_")}
    env.update(MILKBOT_ENV_FILE="/nonexistent", MILKBOT_DB_NAME=db.name, MILKBOT_MODE="demo",
               MILKBOT_KALSHI_BASE_URL=fakes.kalshi_url, MILKBOT_KALSHI_KEY_ID="fake", MILKBOT_KALSHI_KEY_FILE=str(key),
               MILKBOT_EXECUTOR_VT="1", MILKBOT_HTTP_TIMEOUT="0.5")
    for k in ("MILKBOT_PG_PORT", "MILKBOT_STATE_DIR", "MILKBOT_DATABASE_URL"):
        if k in os.environ:
            env[k] = os.environ[k]
    fakes.kalshi.chaos = (rng, 0.3, ORDER_FAULTS, 0.8)     # a late landing comes 0.8 s after the send: past the 0.5 s timeout

    tickers = [fakes.ticker(city=c, i=i) for c in ("NYC", "BOS", "CHI", "SEA") for i in range(1, 5)]
    intents: list[int] = []
    kills = 0
    for round_ in range(14):
        # the cycle keeps queuing: orders that cross (fill at once, IOC or GTC) and ones that rest
        for _ in range(rng.randint(1, 3)):
            free = [t for t in tickers if not db.admin.execute(
                """select 1 from ops.orders where ticker = %s and mode = 'demo' and superseded_by is null
                     and cancel_requested_at is null
                     and state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN')""", (t,)).fetchone()]
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
        # run the executor until the exchange has answered a drawn number of requests, then SIGKILL it
        seen = len(fakes.kalshi.requests)
        proc = subprocess.Popen([MILKBOT, "execute"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            target = seen + rng.randint(1, 12)
            wait_for(lambda: len(fakes.kalshi.requests) >= target,
                     f"round {round_}: the exchange to see {target - seen} requests", timeout=20,
                     gone=lambda: proc.poll() is not None and f"the executor exited by itself ({proc.returncode})")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1

    # faults off: one executor converges (unknown outcomes found or presumed absent, cancels confirmed)
    fakes.kalshi.chaos = None
    fakes.kalshi.clear_faults()
    proc = subprocess.Popen([MILKBOT, "execute"], env={**env, "MILKBOT_HTTP_TIMEOUT": "2"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: db.admin.execute(
            """select count(*) from ops.orders where state in ('PENDING', 'SUBMITTING', 'UNKNOWN', 'CANCEL_PENDING')
                  or (cancel_requested_at is not null and state in ('RESTING', 'PARTIALLY_FILLED'))""").fetchone()[0] == 0
                 and db.admin.execute("select count(*) from pgmq.q_order_intents").fetchone()[0] == 0,
                 "every order resolved and every message handled", timeout=30)
        reconciled = db.admin.execute("select max(last_heartbeat) from ops.health_status where component = 'reconciler'").fetchone()[0]
        wait_for(lambda: db.admin.execute("select max(last_heartbeat) from ops.health_status where component = 'reconciler'").fetchone()[0] != reconciled,
                 "one more full reconcile with nothing left in doubt", timeout=20)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)

    theirs = list(fakes.kalshi.orders.values())
    ours = {r[0]: r[1:] for r in db.admin.execute(
        "select client_order_id, id, state::text, filled_count, exchange_order_id from ops.orders where mode = 'demo'").fetchall()}
    report = f"seed {seed}, {kills} kills, {len(intents)} intents, {len(theirs)} exchange orders"
    # one exchange order per intent at most, and every exchange order is one of ours
    coids = [o["client_order_id"] for o in theirs]
    assert len(coids) == len(set(coids)), report
    assert all(c in ours for c in coids), report
    for o in theirs:
        oid, state, filled, xid = ours[o["client_order_id"]]
        want = STATE_OF[o["status"]] or ("PARTIALLY_FILLED" if o["fill_count"] > 0 else "RESTING")
        assert (state, filled, xid) == (want, o["fill_count"], o["order_id"]), (report, o, ours[o["client_order_id"]])
    # what never reached the exchange is final without being there
    at_exchange = set(coids)
    for coid, (oid, state, filled, xid) in ours.items():
        if coid not in at_exchange:
            assert state in ("ABSENT_PRESUMED", "REJECTED", "CANCELED") and filled == 0, (report, coid, state)
    # every fill linked to its order; positions equal
    assert db.admin.execute("select count(*) from ops.v_fills where out_of_band").fetchone()[0] == 0, report
    assert db.admin.execute("select count(*) from ops.fills").fetchone()[0] == len(fakes.kalshi.fills), report
    positions = {p["ticker"]: Decimal(p["position_fp"]) for p in fakes.kalshi.positions()}
    mine = dict(db.admin.execute("select ticker, position from ops.positions where mode = 'demo' and position <> 0").fetchall())
    assert mine == {t: p for t, p in positions.items() if p != 0}, report
    assert len(intents) >= 10 and kills == 14, report
