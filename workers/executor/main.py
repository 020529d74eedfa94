"""The executor: the only code that calls Kalshi's trading endpoints.

    reconcile (start-up)
    loop:  pgmq.read(order_intents, vt) -> lock order -> re-check trading state and intent (kill switch
           wins) -> commit SUBMITTING -> POST -> record outcome -> archive
           reconcile: UNKNOWN / stale SUBMITTING from GET /portfolio/orders, fill ledger by cursor,
           positions vs the exchange, cancels for superseded / near-close orders, settlements
"""
from __future__ import annotations

import json
import logging
import os
import signal
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg

from milkbot import clock
from milkbot.config import Settings
from workers.common.http import Client, HttpError
from workers.common.kalshi_auth import CredentialsError, KalshiSigner
from workers.common.wire import PayloadError
from .brokers import KalshiBroker, PaperBroker, Submitted

log = logging.getLogger("milkbot.executor")
QUEUE = "order_intents"
VISIBILITY_S = int(os.environ.get("MILKBOT_EXECUTOR_VT", "30"))   # seconds a read message stays hidden
STALE_SUBMITTING = timedelta(seconds=60)
LIVE_CONFIRMATION = "I-understand-this-trades-real-money"
_DEMO_HOSTS = ("demo-api.kalshi.co", "external-api.demo.kalshi.co")


class ConfigError(RuntimeError):
    pass


def crash_point(name: str) -> None:
    """Test hook: MILKBOT_EXECUTOR_CRASH_AT=<step> SIGKILLs the process at that step (fault drills)."""
    if os.environ.get("MILKBOT_EXECUTOR_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def make_broker(settings: Settings, conn) -> tuple[object, str]:
    """paper: no key is read and no trading client exists. demo/live: a signed client, with guards."""
    if settings.mode == "paper":
        return PaperBroker(conn), "paper"
    key_id, key_file = settings.extra.get("MILKBOT_KALSHI_KEY_ID"), settings.extra.get("MILKBOT_KALSHI_KEY_FILE")
    if not key_id or not key_file:
        raise ConfigError(f"{settings.mode} mode needs MILKBOT_KALSHI_KEY_ID and MILKBOT_KALSHI_KEY_FILE")
    base = settings.kalshi_base_url
    if settings.mode == "live":
        if settings.extra.get("MILKBOT_LIVE_CONFIRM") != LIVE_CONFIRMATION:
            raise ConfigError(f"live mode needs MILKBOT_LIVE_CONFIRM={LIVE_CONFIRMATION}")
        if settings.extra.get("MILKBOT_KALSHI_KEY_ENVIRONMENT", "") != "live" or any(h in base for h in _DEMO_HOSTS):
            raise ConfigError("live mode refuses a key or host configured for demo "
                              "(set MILKBOT_KALSHI_KEY_ENVIRONMENT=live for a production key)")
    try:
        signer = KalshiSigner.from_file(key_id, key_file)
    except CredentialsError as exc:
        raise ConfigError(str(exc)) from None
    client = Client(base, {"Accept": "application/json", "User-Agent": "milkbot-executor"},
                    timeout=float(settings.extra.get("MILKBOT_HTTP_TIMEOUT", "10")), attempts=1, signer=signer)
    host = base.split("/")[2] if "://" in base else base
    return KalshiBroker(client, host), host


class Executor:
    def __init__(self, settings: Settings, conn: psycopg.Connection, broker, host: str,
                 now=clock.now):
        self.settings, self.conn, self.broker, self.host, self.now = settings, conn, broker, host, now
        self.mode = settings.mode

    # -- state changes (the trigger validates every move and logs it to ops.order_events) ---------
    def move(self, order_id: int, to_state: str, reason: str, excerpt: str | None = None, **cols) -> None:
        self.conn.execute("select set_config('milkbot.transition_reason', %s, true), set_config('milkbot.exchange_excerpt', %s, true)",
                          (reason, excerpt or ""))
        sets = ", ".join([f"{c} = %s" for c in cols] + ["state = %s"])
        self.conn.execute(f"update ops.orders set {sets} where id = %s", (*cols.values(), to_state, order_id))

    def outcome_state(self, filled: Decimal, count: Decimal, status: str | None = None) -> str:
        if filled >= count:
            return "FILLED"
        if status == "canceled":
            return "CANCELED"
        return "PARTIALLY_FILLED" if filled > 0 else "RESTING"

    # -- the submission loop ------------------------------------------------------------------
    def drain(self, max_messages: int = 100) -> int:
        handled = 0
        while handled < max_messages:
            with self.conn.transaction():
                msg = self.conn.execute("select msg_id, message from pgmq.read(%s, %s, 1)", (QUEUE, VISIBILITY_S)).fetchone()
            if not msg:
                return handled
            msg_id, body = msg
            try:
                if body.get("action") == "cancel":
                    self.cancel_requested(int(body["order_id"]))
                elif body.get("action") == "decrease":
                    self.decrease_sweep(only=int(body["order_id"]))
                else:
                    self.submit(int(body["order_id"]))
            except (HttpError, PayloadError) as exc:
                log.warning("message %s: %s (left for redelivery)", msg_id, exc)
                self.conn.rollback()
                continue
            with self.conn.transaction():
                self.conn.execute("select pgmq.archive(%s, %s)", (QUEUE, msg_id))
            handled += 1
        return handled

    def submit(self, order_id: int) -> None:
        with self.conn.transaction():
            o = self.conn.execute(
                """select o.id, o.state, o.ticker, o.side, o.price, o.count, o.client_order_id, o.time_in_force, o.mode,
                          o.superseded_by, o.cancel_requested_at, o.reduces_exposure, o.exchange_order_id, t.state
                     from ops.orders o cross join ops.trading_state t where o.id = %s for update of o""",
                (order_id,)).fetchone()
            if o is None:
                return
            (oid, state, ticker, side, price, count, coid, tif, mode, superseded, cancel_req, reducing, xid, trading) = o
            if state not in ("PENDING", "SUBMITTING"):
                return                                  # already handled (e.g. crash after recording)
            if state == "PENDING":
                why = None
                if trading == "HALTED":
                    why = "kill switch: trading HALTED"
                elif trading == "REDUCING" and not reducing:
                    why = "trading REDUCING: order does not reduce exposure"
                elif superseded or cancel_req:
                    why = "intent no longer current"
                elif mode != self.mode:
                    why = f"intent made for {mode} mode, executor runs {self.mode}"
                if why:
                    self.move(oid, "CANCELED", why)
                    return
                self.move(oid, "SUBMITTING", f"sending to {self.host}")
        if state == "SUBMITTING":
            # a previous run died between committing SUBMITTING and recording the reply: ask first
            known = self.exchange_orders().get(coid)
            if known:
                return self.adopt(oid, count, known, "found at the exchange after a restart")
            with self.conn.transaction():
                t = self.conn.execute("select state from ops.trading_state").fetchone()[0]
                if t == "HALTED":
                    self.move(oid, "CANCELED", "kill switch: trading HALTED (never reached the exchange)")
                    return
        crash_point("before_post")
        result: Submitted = self.broker.submit(ticker=ticker, side=side, price=price, count=count,
                                               client_order_id=coid, time_in_force=tif)
        crash_point("after_post")
        with self.conn.transaction():
            if result.outcome == "accepted":
                self.move(oid, self.outcome_state(result.fill_count, count), "exchange accepted (201)", result.excerpt,
                          exchange_order_id=result.exchange_order_id, filled_count=result.fill_count)
            elif result.outcome == "duplicate":
                known = self.exchange_orders().get(coid)
                if known:
                    self.adopt(oid, count, known, "409 duplicate client_order_id: adopted the existing order")
                else:
                    self.move(oid, "UNKNOWN", "409 but no such order listed", result.excerpt, last_error=result.code)
            elif result.outcome == "rejected":
                self.move(oid, "REJECTED", f"exchange rejected: {result.code}", result.excerpt, last_error=result.code)
            else:
                self.move(oid, "UNKNOWN", f"outcome unknown: {result.code}", result.excerpt, last_error=result.code)
        crash_point("after_record")
        if isinstance(self.broker, PaperBroker):
            with self.conn.transaction():
                self.broker.match(self.now())
                self.sync_fills_into_orders()

    def exchange_orders(self) -> dict:
        return self.broker.orders() if isinstance(self.broker, KalshiBroker) else {}

    def adopt(self, oid: int, count: Decimal, known, reason: str) -> None:
        with self.conn.transaction():
            state = {"executed": "FILLED", "canceled": "CANCELED", "resting": None}.get(known.status)
            target = state or self.outcome_state(known.fill_count, count)
            cur = self.conn.execute("select state from ops.orders where id = %s for update", (oid,)).fetchone()[0]
            if cur == target:
                self.conn.execute("update ops.orders set exchange_order_id = %s, filled_count = %s where id = %s",
                                  (known.exchange_order_id, known.fill_count, oid))
            else:
                self.move(oid, target, reason, exchange_order_id=known.exchange_order_id, filled_count=known.fill_count)

    def cancel_requested(self, order_id: int) -> None:
        self.cancel_sweep(only=order_id)

    # -- reconciliation -----------------------------------------------------------------------
    def reconcile(self) -> dict:
        now = self.now()
        report = {"resolved": 0, "fills": 0, "cancels": 0, "mismatches": 0}
        if isinstance(self.broker, KalshiBroker):
            report["resolved"] = self.resolve_unknowns(now)
            report["fills"] = self.pull_fills()
        else:
            with self.conn.transaction():
                report["fills"] = self.broker.match(now)
        with self.conn.transaction():
            self.sync_fills_into_orders()
        report["cancels"] = self.cancel_sweep()
        report["decreases"] = self.decrease_sweep()
        with self.conn.transaction():
            before = self.conn.execute("select count(*) from ops.positions where settled_at is not null").fetchone()[0]
            self.conn.execute("select ops.refresh_positions(%s)", (now,))
            report["settled"] = self.conn.execute("select count(*) from ops.positions where settled_at is not null").fetchone()[0] - before
        if isinstance(self.broker, KalshiBroker):
            positions = self.broker.positions()
            with self.conn.transaction():
                report["mismatches"] = self.conn.execute(
                    "select ops.report_exchange_positions(%s, %s, %s)",
                    (now, self.mode, json.dumps({k: str(v) for k, v in positions.items()}))).fetchone()[0]
        else:
            with self.conn.transaction():   # paper: the exchange is our own ledger
                self.conn.execute("select ops.report_exchange_positions(%s, 'paper', coalesce((select jsonb_object_agg(ticker, position) from ops.positions where mode = 'paper'), '{}'))", (now,))
        with self.conn.transaction():
            if report["mismatches"] == 0:
                self.conn.execute("select ops.heartbeat('reconciler', true, %s)", (json.dumps(report),))
        return report

    def resolve_unknowns(self, now: datetime) -> int:
        with self.conn.transaction():
            rows = self.conn.execute(
                """select id, state, client_order_id, count from ops.orders
                    where mode = %s and (state in ('UNKNOWN', 'CANCEL_PENDING')
                                         or (state = 'SUBMITTING' and updated_at < now() - %s))""",
                (self.mode, STALE_SUBMITTING)).fetchall()   # updated_at is the database's clock: age it on that
        if not rows:
            return 0
        known = self.broker.orders()
        resolved = 0
        for oid, state, coid, count in rows:
            if state == "CANCEL_PENDING" and coid in known and known[coid].status == "resting":
                # the cancel did not land: send it again
                resolved += self.send_cancel(oid, known[coid].exchange_order_id, "reconciler: cancel re-sent and confirmed")
            elif coid in known:
                self.adopt(oid, count, known[coid], f"reconciler: found at the exchange ({known[coid].status})")
                resolved += 1
            elif state in ("UNKNOWN", "CANCEL_PENDING"):
                with self.conn.transaction():
                    self.move(oid, "CANCELED", "reconciler: not at the exchange, so never placed (not retried)"
                              if state == "UNKNOWN" else "reconciler: no longer at the exchange")
                resolved += 1
        return resolved

    def pull_fills(self) -> int:
        # an hour's overlap with what the ledger holds: late-reported fills are caught, the unique fill id
        # keeps the overlap from counting twice
        with self.conn.transaction():
            last = self.conn.execute("select max(created_time) from ops.fills where mode = %s", (self.mode,)).fetchone()[0]
        fills = self.broker.fills(since=last - timedelta(hours=1) if last else None)
        new = 0
        with self.conn.transaction():
            for f in fills:
                cur = self.conn.execute(
                    """insert into ops.fills (fill_id, exchange_order_id, order_id, ticker, side, yes_price, count,
                                              is_taker, fee, created_time, mode)
                       select %s, %s, (select id from ops.orders where exchange_order_id = %s), %s, %s, %s, %s, %s, %s, %s, %s
                        where exists (select 1 from ops.markets where ticker = %s)
                       on conflict (fill_id) do nothing""",
                    (f["fill_id"], f["exchange_order_id"], f["exchange_order_id"], f["ticker"], f["side"], f["yes_price"],
                     f["count"], f["is_taker"], f["fee"], f["created_time"], self.mode, f["ticker"]))
                new += cur.rowcount
        return new

    def sync_fills_into_orders(self) -> None:
        """An order's filled_count and state follow its fills in the ledger."""
        rows = self.conn.execute(
            """select o.id, o.state, o.count, s.filled from ops.orders o
                 join (select order_id, sum(count) as filled from ops.fills where order_id is not null group by order_id) s
                   on s.order_id = o.id
                where s.filled > o.filled_count and o.state in ('RESTING', 'PARTIALLY_FILLED', 'CANCEL_PENDING')
                for update of o""").fetchall()
        for oid, state, count, filled in rows:
            target = "FILLED" if filled >= count else "PARTIALLY_FILLED"
            if target == state:
                self.conn.execute("update ops.orders set filled_count = %s where id = %s", (filled, oid))
            else:
                self.move(oid, target, "fills recorded", filled_count=filled)

    def cancel_sweep(self, only: int | None = None) -> int:
        """Cancel resting orders whose intent was superseded or withdrawn, or whose market closes soon
        (cancels are allowed even when HALTED)."""
        with self.conn.transaction():
            rows = self.conn.execute(
                """select o.id, o.exchange_order_id, o.state from ops.orders o join ops.markets m on m.ticker = o.ticker
                    where o.mode = %s and o.state in ('RESTING', 'PARTIALLY_FILLED') and o.exchange_order_id is not null
                      and (o.superseded_by is not null or o.cancel_requested_at is not null
                           or m.close_time - make_interval(mins => (select value::int from ops.strategy_params
                                                                     where strategy = 'all' and name = 'close_buffer_min')) <= %s
                           or (select state from ops.trading_state) = 'HALTED')
                      and (%s::bigint is null or o.id = %s)""",
                (self.mode, self.now(), only, only)).fetchall()
        done = 0
        for oid, xid, state in rows:
            with self.conn.transaction():
                self.move(oid, "CANCEL_PENDING", "cancel sent")
            done += self.send_cancel(oid, xid, "cancel confirmed")
        return done

    def decrease_sweep(self, only: int | None = None) -> int:
        """Send the decreases the cycle asked for (ops.orders.decrease_to). Until the exchange confirms,
        the order keeps counting at its full size; a failed decrease is retried on the next pass."""
        with self.conn.transaction():
            rows = self.conn.execute(
                """select o.id, o.exchange_order_id, least(o.decrease_to, o.count - o.filled_count)
                     from ops.orders o
                    where o.mode = %s and o.decrease_to is not null and o.exchange_order_id is not null
                      and o.state in ('RESTING', 'PARTIALLY_FILLED') and o.cancel_requested_at is null
                      and (%s::bigint is null or o.id = %s)""", (self.mode, only, only)).fetchall()
        done = 0
        for oid, xid, reduce_to in rows:
            ok, left, detail = self.broker.decrease(xid, reduce_to)
            with self.conn.transaction():
                cur = self.conn.execute("select state, count, filled_count from ops.orders where id = %s for update",
                                        (oid,)).fetchone()
                if not ok:
                    self.conn.execute("update ops.orders set last_error = %s where id = %s", (detail[:2000], oid))
                    continue
                remaining = min(left if left is not None else reduce_to, cur[1] - cur[2])
                self.conn.execute("update ops.orders set count = filled_count + %s, decrease_to = null where id = %s",
                                  (remaining, oid))
                if remaining == 0 and cur[0] in ("RESTING", "PARTIALLY_FILLED"):
                    self.move(oid, "CANCELED", "decreased to nothing left", detail)
                done += 1
        return done

    def send_cancel(self, oid: int, exchange_order_id: str, reason: str) -> int:
        """DELETE at the exchange; confirmed -> CANCELED (1), else the order stays CANCEL_PENDING with the
        error recorded, for the reconciler to resolve (0)."""
        ok, detail = self.broker.cancel(exchange_order_id)
        with self.conn.transaction():
            if ok:
                self.move(oid, "CANCELED", reason, detail)
                return 1
            self.conn.execute("update ops.orders set last_error = %s where id = %s", (detail[:2000], oid))
            return 0


def run(settings: Settings, *, once: bool, poll: float = 2.0) -> int:
    from milkbot.db import Database
    from milkbot.shutdown import StopRequest, say
    stop = StopRequest("executor")
    db = Database(settings)
    with psycopg.connect(db.role_conninfo("milkbot_executor")) as conn:
        try:
            broker, host = make_broker(settings, conn)
        except ConfigError as exc:
            print(f"milkbot execute: {exc}", flush=True)
            return 2
        ex = Executor(settings, conn, broker, host)
        ex.reconcile()
        while not stop.requested:
            try:
                n = ex.drain()
                rec = ex.reconcile()   # (the public rollups are rebuilt on their own schedule: milkbot analytics)
                with conn.transaction():
                    conn.execute("select ops.heartbeat('executor', true, %s)", (f"{n} messages; {json.dumps(rec)}",))
            except (HttpError, PayloadError, psycopg.Error) as exc:
                conn.rollback()
                with conn.transaction():
                    conn.execute("select ops.heartbeat('executor', false, %s)", (str(exc)[:500],))
                if once:
                    print(f"milkbot execute: {exc}", flush=True)
                    return 1
            if once:
                print(f"execute: {n} messages handled; reconcile {rec}", flush=True)
                return 0
            stop.wait(poll)
    say("executor: stopped")
    return 0
