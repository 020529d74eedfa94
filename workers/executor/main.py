"""The executor: the only code that calls Kalshi's trading endpoints. It decides nothing: SQL does.

    loop:  reconcile: GET /portfolio/orders (all pages) -> ops.apply_exchange_listing (adopt, resolve,
                      presume absent only after the grace period) -> fills by cursor -> ops.orders_to_cancel
                      -> DELETE -> ops.decreases_to_send -> POST decrease -> positions both ways -> settlements
           drain:     pgmq.read(order_intents) -> ops.claim_intent (commits SUBMITTING, or says why not)
                      -> one POST -> ops.record_submit -> archive
    Reads retry with back-off; writes are single-attempt (an unclear answer is UNKNOWN, never re-sent).
    A failed pass is logged and recorded in health, and the loop goes on.
"""
from __future__ import annotations

import json
import logging
import os
import signal
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
    """Talks HTTP, records outcomes, follows what the SQL functions in db/functions/ops/executor.sql
    answer. Nothing here decides what happens to an order."""

    def __init__(self, settings: Settings, conn: psycopg.Connection, broker, host: str,
                 now=clock.now):
        self.settings, self.conn, self.broker, self.host, self.now = settings, conn, broker, host, now
        self.mode = settings.mode
        self.is_exchange = isinstance(broker, KalshiBroker)
        if isinstance(broker, PaperBroker):
            broker.now = now          # one clock for the executor and its paper fills

    def move(self, order_id: int, to_state: str, reason: str, excerpt: str | None = None, **cols) -> None:
        """A state change the exchange reported (the trigger validates it and logs it to ops.order_events)."""
        self.conn.execute("select set_config('milkbot.transition_reason', %s, true), set_config('milkbot.exchange_excerpt', %s, true)",
                          (reason, excerpt or ""))
        sets = ", ".join([f"{c} = %s" for c in cols] + ["state = %s"])
        self.conn.execute(f"update ops.orders set {sets} where id = %s", (*cols.values(), to_state, order_id))

    # -- the submission loop ------------------------------------------------------------------
    def drain(self, max_messages: int = 100) -> int:
        handled = 0
        if not self.is_exchange:
            self.paper_fills()       # trades printed before the cycle's cancels and decreases arrive fill first
        while handled < max_messages:
            with self.conn.transaction():
                msg = self.conn.execute("select msg_id, message from pgmq.read(%s, %s, 1)", (QUEUE, VISIBILITY_S)).fetchone()
            if not msg:
                return handled
            msg_id, body = msg
            try:
                action, oid = body.get("action"), int(body["order_id"])
                if action == "cancel":
                    self.cancel_sweep(only=oid)
                elif action == "decrease":
                    self.decrease_sweep(only=oid)
                else:
                    self.submit(oid)
            except (HttpError, PayloadError) as exc:
                log.warning("message %s: %s (left for redelivery)", msg_id, exc)
                self.conn.rollback()
                continue
            with self.conn.transaction():
                self.conn.execute("select pgmq.archive(%s, %s)", (QUEUE, msg_id))
            handled += 1
        return handled

    def submit(self, order_id: int) -> None:
        """SQL claims the intent (SUBMITTING is committed before the POST); one POST, never repeated; SQL
        records the answer. An interrupted send comes back as 'unknown' and is resolved from the listing."""
        with self.conn.transaction():
            claim = self.conn.execute("select * from ops.claim_intent(%s, %s, %s)",
                                      (order_id, self.mode, self.now())).fetchone()
        action, reason, ticker, side, price, count, coid, tif, on_pause = claim
        if action != "submit":
            return
        crash_point("before_post")
        result: Submitted = self.broker.submit(ticker=ticker, side=side, price=price, count=count,
                                               client_order_id=coid, time_in_force=tif, cancel_on_pause=on_pause)
        crash_point("after_post")
        with self.conn.transaction():
            self.conn.execute("select ops.record_submit(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                              (order_id, result.status, result.readable, result.exchange_order_id, result.fill_count,
                               result.remaining, result.code, result.excerpt, self.now()))
        crash_point("after_record")
        if not self.is_exchange:
            self.paper_fills()

    def paper_fills(self, now=None) -> int:
        """Paper: the paper exchange fills what the trade tape allows up to now; the ledger into the orders."""
        with self.conn.transaction():
            n = self.broker.match(now or self.now())
            self.conn.execute("select ops.sync_fills_into_orders()")
        return n

    # -- reconciliation -----------------------------------------------------------------------
    def reconcile(self) -> dict:
        """The exchange is the truth: list every order (all pages), let SQL adopt / resolve / presume
        absent / correct; pull fills; cancel and decrease what SQL says; positions both ways; settlements.
        A listing that cannot be read does not stop the kill switch: the cancel sweep still runs (SQL
        then names every order that may rest by its exchange id) and the listing is tried again."""
        now = self.now()
        report = {"fills": 0, "cancels": 0, "decreases": 0, "mismatches": 0}
        if not self.is_exchange:
            # paper: the cycle's cancels and decreases reach the exchange now, so every trade printed
            # before now fills first (fills race them as on the exchange); then the requests; a decrease
            # target the fills already reached is a cancel
            report["fills"] = self.paper_fills(now)
            report["cancels"] = self.cancel_sweep(listing=[])
            report["decreases"] = self.decrease_sweep()
            report["cancels"] += self.cancel_sweep(listing=[])
        else:
            listing = self.read_listing(now, report)
            if listing is None:
                report["cancels"] = self.cancel_sweep(listing=None)     # blind, by exchange id (HALTED only)
                listing = self.read_listing(now, report)                # the listing, retried on its own
            report["fills"] = self.pull_fills()
            with self.conn.transaction():
                self.conn.execute("select ops.sync_fills_into_orders()")
            if listing is not None:
                report["cancels"] += self.cancel_sweep(listing=listing)
                report["decreases"] = self.decrease_sweep()
        with self.conn.transaction():
            before = self.conn.execute("select count(*) from ops.positions where settled_at is not null").fetchone()[0]
            self.conn.execute("select ops.refresh_positions(%s)", (now,))
            report["settled"] = self.conn.execute("select count(*) from ops.positions where settled_at is not null").fetchone()[0] - before
        if self.is_exchange:
            # compared at a consistent point: fills, then positions, then fills again; a market whose
            # fills moved between the two pulls was in flight and is compared next pass
            positions = self.broker.positions()
            moved = self.pull_fills(report_tickers=True)
            with self.conn.transaction():
                self.conn.execute("select ops.refresh_positions(%s)", (now,))
                report["mismatches"] = self.conn.execute(
                    "select ops.report_exchange_positions(%s, %s, %s, %s)",
                    (now, self.mode, json.dumps({k: str(v) for k, v in positions.items()}), sorted(moved))).fetchone()[0]
        else:
            with self.conn.transaction():   # paper: the exchange is our own ledger
                self.conn.execute("select ops.report_exchange_positions(%s, 'paper', coalesce((select jsonb_object_agg(ticker, position) from ops.positions where mode = 'paper'), '{}'))", (now,))
        with self.conn.transaction():
            if report["mismatches"] == 0 and report.get("listing", "read") == "read":
                self.conn.execute("select ops.heartbeat('reconciler', true, %s)", (json.dumps(report),))
        return report

    def read_listing(self, now, report: dict) -> list[dict] | None:
        """GET /portfolio/orders (all pages) applied by SQL; None when it cannot be read (recorded)."""
        try:
            listing = self.broker.listing()
        except (HttpError, PayloadError) as exc:
            report["listing"] = f"failed: {exc}"[:300]
            with self.conn.transaction():
                self.conn.execute("select ops.heartbeat('reconciler', false, %s)", (report["listing"],))
            return None
        with self.conn.transaction():
            orders = self.conn.execute("select ops.apply_exchange_listing(%s, %s, %s)",
                                       (now, self.mode, json.dumps(listing, default=str))).fetchone()[0]
        report["orders"] = {k: v for k, v in orders.items() if k != "mismatched"}
        report["listing"] = "read"
        return listing

    def pull_fills(self, report_tickers: bool = False):
        # from the newest fill REST returned less SQL's look-back: late-reported fills are caught, the unique
        # fill id keeps the overlap (and what the feed recorded first) from counting twice. A fill whose
        # order is not known yet is stored with the exchange order id it carries; ops.fill_orders links it.
        with self.conn.transaction():
            since = self.conn.execute("select ops.fills_since(%s)", (self.mode,)).fetchone()[0]
        fills = self.broker.fills(since=since)
        with self.conn.transaction():
            got = self.conn.execute("select ops.record_rest_fills(%s, %s)",
                                    (self.mode, json.dumps(fills, default=str))).fetchone()[0]
        new, tickers = got["new"], set(got["tickers"])
        return tickers if report_tickers else new

    def cancel_sweep(self, only: int | None = None, listing: list[dict] | None = None) -> int:
        """DELETE what ops.orders_to_cancel answers (cancels are allowed even when HALTED; then also
        everything the exchange lists as resting, or — listing None, unreadable — every order of ours that
        may rest, by its exchange id). SQL records each answer (ops.record_cancel)."""
        with self.conn.transaction():
            rows = self.conn.execute("select * from ops.orders_to_cancel(%s, %s, %s)",
                                     (self.now(), self.mode,
                                      None if listing is None else json.dumps(listing, default=str))).fetchall()
        done = 0
        for oid, xid, reason in rows:
            if only is not None and oid != only:
                continue
            if oid is not None:
                with self.conn.transaction():
                    state = self.conn.execute("select state from ops.orders where id = %s for update", (oid,)).fetchone()[0]
                    if state not in ("RESTING", "PARTIALLY_FILLED", "CANCEL_PENDING"):
                        continue          # moved since the answer (a fill, the listing): asked again next pass
                    if state != "CANCEL_PENDING":
                        self.move(oid, "CANCEL_PENDING", f"cancel sent: {reason}")
            status, detail = self.broker.cancel(xid)
            if oid is None:
                log.warning("cancelled exchange order %s: %s (%s)", xid, reason, "confirmed" if status == 200 else detail)
                done += status == 200
                continue
            with self.conn.transaction():
                done += self.conn.execute("select ops.record_cancel(%s, %s, %s, %s)",
                                          (oid, status, detail, reason)).fetchone()[0] == "CANCELED"
        return done

    def decrease_sweep(self, only: int | None = None) -> int:
        """Send the decreases the cycle asked for (ops.decreases_to_send: reduce_by = count - target total).
        Until the exchange confirms, the order keeps counting at its full size; the send is recorded first,
        and a decrease is sent again only after a newer listing (a lost reply may have applied it)."""
        with self.conn.transaction():
            rows = self.conn.execute("select * from ops.decreases_to_send(%s)", (self.mode,)).fetchall()
        done = 0
        for oid, xid, reduce_by in rows:
            if only is not None and oid != only:
                continue
            with self.conn.transaction():
                self.conn.execute("select ops.mark_decrease_sent(%s, %s)", (oid, self.now()))
            status, left, detail = self.broker.decrease(xid, reduce_by)
            with self.conn.transaction():
                if status != 200:
                    self.conn.execute("select ops.note_order_error(%s, %s)", (oid, f"decrease: {detail}"))
                    continue
                self.conn.execute("select ops.record_decrease(%s, %s, %s, %s)", (oid, reduce_by, left, detail))
                done += 1
        return done


def run(settings: Settings, *, once: bool, poll: float = 2.0) -> int:
    from milkbot.db import Database
    from milkbot.shutdown import StopRequest, say
    stop = StopRequest("executor")
    db = Database(settings)
    # woken by a new intent (pgmq's insert notification on the queue), else every `poll` seconds
    wake = psycopg.connect(db.role_conninfo("milkbot_executor"), autocommit=True)
    wake.execute('listen "pgmq.q_order_intents.INSERT"')
    with wake, psycopg.connect(db.role_conninfo("milkbot_executor")) as conn:
        try:
            broker, host = make_broker(settings, conn)
        except ConfigError as exc:
            print(f"milkbot execute: {exc}", flush=True)
            return 2
        ex = Executor(settings, conn, broker, host)
        with conn.transaction():   # the public shows one book: ours, unless an operator published another
            conn.execute("select ops.executor_started(%s)", (settings.mode,))
        n = 0
        while not stop.requested:
            try:
                # reconcile first (also at start-up): what happened while we were away decides what is sent
                # (a pass that cannot read the exchange sends nothing: we do not send blind)
                rec = ex.reconcile()   # (the public rollups are rebuilt on their own schedule: milkbot analytics)
                if rec.get("listing", "read") != "read":
                    # the kill switch's sweep ran; nothing new is sent while the exchange cannot be read
                    raise HttpError("GET /portfolio/orders", None, rec["listing"])
                n = ex.drain()
                if n:
                    rec = ex.reconcile()
                with conn.transaction():
                    conn.execute("select ops.heartbeat('executor', true, %s)", (f"{n} messages; {json.dumps(rec)}",))
            except (HttpError, PayloadError, psycopg.Error) as exc:
                log.warning("executor pass failed, retried next loop: %s", exc)
                conn.rollback()
                with conn.transaction():
                    conn.execute("select ops.heartbeat('executor', false, %s)", (str(exc)[:500],))
                if once:
                    print(f"milkbot execute: {exc}", flush=True)
                    return 1
            if once:
                print(f"execute: {n} messages handled; reconcile {rec}", flush=True)
                return 0
            for _ in wake.notifies(timeout=poll, stop_after=1):
                pass                      # one is enough: the next pass drains everything queued
    say("executor: stopped")
    return 0
