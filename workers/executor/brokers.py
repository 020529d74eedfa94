"""Where orders go. KalshiBroker speaks the V2 order endpoints (signed); PaperBroker never opens a
connection or reads a key: it fills against the latest stored orderbook, conservatively."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from workers.common.http import Client, HttpError
from workers.common.wire import PayloadError, dollars, excerpt, fp_count, timestamp


@dataclass
class Submitted:
    """What one order POST answered, as heard: SQL (ops.submit_outcome) classifies it."""
    status: int | None               # HTTP status; None = no reply (timeout, dropped connection)
    readable: bool = True            # a 201 whose order id and counts could be read
    exchange_order_id: str | None = None
    fill_count: Decimal = Decimal(0)
    remaining: Decimal | None = None
    code: str | None = None
    excerpt: str | None = None


@dataclass
class ExchangeOrder:
    exchange_order_id: str
    client_order_id: str
    ticker: str
    status: str                      # resting | canceled | executed
    fill_count: Decimal
    remaining: Decimal


def _error_code(body: bytes | None) -> str:
    try:
        data = json.loads(body or b"")
    except ValueError:
        return "unparseable_error"
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            return str(err.get("code") or "error")
        if isinstance(err, str):
            return err
        return str(data.get("code") or "error")
    return "error"


class KalshiBroker:
    def __init__(self, client: Client, host: str, read_attempts: int = 4):
        self.http, self.host, self.read_attempts = client, host, read_attempts

    def submit(self, *, ticker: str, side: str, price: Decimal, count: Decimal, client_order_id: str,
               time_in_force: str, cancel_on_pause: bool = True) -> Submitted:
        body = {"ticker": ticker, "side": side, "price": f"{price:.4f}", "count": f"{count:.2f}",
                "client_order_id": client_order_id, "time_in_force": time_in_force,
                "self_trade_prevention_type": "taker_at_cross", "cancel_order_on_pause": bool(cancel_on_pause)}
        try:
            # one attempt only: a retry after a lost reply is exactly the blind retry we must not do
            reply = self.http.request("POST", "/portfolio/events/orders", json=body, ok=(201,), sign=True)
        except HttpError as exc:
            return Submitted(exc.status, code=f"{exc.status or 'no reply'} {_error_code(exc.body) if exc.status else exc.message}",
                             excerpt=excerpt(exc.body))
        try:
            data = reply.json()
            oid = data.get("order_id")
            if not isinstance(oid, str) or not oid:
                raise PayloadError("201 without an order_id")
            filled = fp_count(data.get("fill_count"), "fill_count")
            remaining = fp_count(data.get("remaining_count"), "remaining_count")
        except (PayloadError, AttributeError, ValueError) as exc:
            # accepted, but we cannot read what happened: resolve it from GET /portfolio/orders
            return Submitted(201, readable=False, code=f"malformed 201: {exc}", excerpt=excerpt(reply.body))
        return Submitted(201, True, oid, filled, remaining, excerpt=excerpt(reply.body))

    def cancel(self, exchange_order_id: str) -> tuple[int | None, str]:
        """DELETE the order: (HTTP status or None for no reply, detail). SQL records what it means."""
        try:
            reply = self.http.request("DELETE", f"/portfolio/events/orders/{exchange_order_id}", ok=(200,), sign=True)
            return 200, excerpt(reply.body) or ""
        except HttpError as exc:
            return exc.status, f"{exc.status or 'no reply'} {_error_code(exc.body) if exc.status else exc.message}"

    def decrease(self, exchange_order_id: str, reduce_by: Decimal) -> tuple[int | None, Decimal | None, str]:
        """POST .../{order_id}/decrease with reduce_by (DecreaseOrderV2Request). Returns (HTTP status or
        None, the remaining count the reply states if it is readable, detail)."""
        try:
            reply = self.http.request("POST", f"/portfolio/events/orders/{exchange_order_id}/decrease",
                                      json={"reduce_by": f"{reduce_by:.2f}"}, ok=(200, 201), sign=True)
        except HttpError as exc:
            return exc.status, None, f"{exc.status or 'no reply'} {_error_code(exc.body) if exc.status else exc.message}"
        try:
            data = reply.json()
            remaining = data.get("remaining_count") if isinstance(data, dict) else None
            left = fp_count(remaining, "remaining_count") if remaining is not None else None
        except (PayloadError, ValueError):
            left = None
        return 200, left, excerpt(reply.body) or ""

    def _pages(self, path: str, key: str, params: dict | None = None):
        cursor = None
        while True:
            p = dict(params or {}, limit=1000)
            if cursor:
                p["cursor"] = cursor
            # reads retry with back-off (a lost read changes nothing); writes never do
            data = self.http.get(path, params=p, sign=True, attempts=self.read_attempts).json()
            items = data.get(key)
            if not isinstance(items, list):
                raise PayloadError(f"{path}: no {key} list")
            yield from items
            cursor = data.get("cursor")
            if not cursor:
                return

    def orders(self) -> dict[str, ExchangeOrder]:
        """Every order the exchange knows, by client_order_id."""
        out = {}
        for o in self._pages("/portfolio/orders", "orders"):
            coid = o.get("client_order_id")
            if not coid:
                continue
            out[coid] = ExchangeOrder(str(o["order_id"]), coid, str(o.get("ticker")), str(o.get("status")),
                                      fp_count(o.get("fill_count_fp"), "fill_count_fp"),
                                      fp_count(o.get("remaining_count_fp"), "remaining_count_fp"))
        return out

    def listing(self) -> list[dict]:
        """Every order the exchange lists for us (all pages), in the shape ops.apply_exchange_listing reads."""
        out = []
        for o in self._pages("/portfolio/orders", "orders"):
            if not isinstance(o, dict) or not isinstance(o.get("order_id"), str):
                raise PayloadError("an order without an order_id in GET /portfolio/orders")
            side = o.get("book_side") or {"yes": "bid", "no": "ask"}.get(o.get("outcome_side") or o.get("side"))
            fill = fp_count(o.get("fill_count_fp"), "fill_count_fp")
            remaining = fp_count(o.get("remaining_count_fp"), "remaining_count_fp")
            initial = o.get("initial_count_fp")
            out.append({"order_id": o["order_id"], "client_order_id": o.get("client_order_id") or None,
                        "ticker": str(o.get("ticker")), "side": side,
                        "price": str(dollars(o.get("yes_price_dollars"), "yes_price_dollars")),
                        "status": str(o.get("status")), "fill_count": str(fill), "remaining_count": str(remaining),
                        "initial_count": str(fp_count(initial, "initial_count_fp")) if initial is not None else None,
                        "created_time": o.get("created_time")})
        return out

    def fills(self, since: datetime | None = None) -> list[dict]:
        """Fills by cursor; `since` (min_ts, Unix seconds) skips what the ledger already holds."""
        out = []
        params = {"min_ts": int(since.timestamp())} if since else None
        for f in self._pages("/portfolio/fills", "fills", params):
            side = f.get("book_side") or ("bid" if f.get("side") == "yes" else "ask")
            if side not in ("bid", "ask"):
                raise PayloadError(f"fill {f.get('fill_id')}: unknown side")
            out.append({"fill_id": str(f.get("fill_id") or f.get("trade_id")), "exchange_order_id": f.get("order_id"),
                        "ticker": str(f.get("market_ticker") or f.get("ticker")), "side": side,
                        "yes_price": dollars(f.get("yes_price_dollars"), "yes_price_dollars"),
                        "count": fp_count(f.get("count_fp"), "count_fp"), "is_taker": bool(f.get("is_taker")),
                        "fee": Decimal(str(f.get("fee_cost") or "0")),
                        "created_time": timestamp(f.get("created_time"), "created_time")})
        return out

    def positions(self) -> dict[str, Decimal]:
        return {str(p["ticker"]): fp_count(str(p.get("position_fp", "0")).lstrip("-"), "position_fp")
                * (-1 if str(p.get("position_fp", "0")).startswith("-") else 1)
                for p in self._pages("/portfolio/positions", "market_positions")}


class PaperBroker:
    """The paper exchange: what fills is decided in SQL from the recorded market (db/functions/ops/paper.sql):
    a taking order against the recorded book at arrival, price and size per level; a resting order only as
    the recorded trade tape prints at or through its price behind the queue that was ahead of it."""

    host = "paper"

    def __init__(self, conn, now=None):
        from milkbot import clock
        self.conn, self.now = conn, now or clock.now

    def submit(self, **kw) -> Submitted:
        with self.conn.transaction():
            xid, filled, remaining = self.conn.execute(
                "select * from ops.paper_submit(%s, %s)", (kw["client_order_id"], self.now())).fetchone()
        return Submitted(201, True, xid, filled, remaining)

    def cancel(self, exchange_order_id: str) -> tuple[int | None, str]:
        return 200, "paper cancel"

    def decrease(self, exchange_order_id: str, reduce_by: Decimal) -> tuple[int | None, Decimal | None, str]:
        return 200, None, "paper decrease"    # our own row is the book: count drops by reduce_by

    def match(self, now: datetime) -> int:
        """Fill resting paper orders from the trade tape up to now."""
        return self.conn.execute("select ops.paper_match(%s)", (now,)).fetchone()[0]
