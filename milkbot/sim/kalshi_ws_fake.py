"""Fake Kalshi WebSocket API (`/trade-api/ws/v2`) on 127.0.0.1, beside the REST fake and serving the same
world's books: the commands and messages of the AsyncAPI spec (../shared/data/kalshi-websocket/) that
Milkbot uses -- subscribe, update_subscription (add_markets, delete_markets, get_snapshot), unsubscribe;
orderbook_snapshot then signed orderbook_delta per subscription with `seq`; trade; fill and user_order for
the orders of the REST fake it is attached to (`attach`); pings every 10 s.

Tests move the books (`change`), print trades (`trade`) and inject faults into the order-book stream:
gap (a message lost: its seq is used, nothing sent), duplicate (sent twice), reorder (held back and sent
after the next one), disconnect (every connection closed), and record every message sent (`sent`) for the
schema test."""
from __future__ import annotations

import asyncio
import json
import threading
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response

from workers.common.kalshi_auth import verify
from .kalshi_fake import d4, fp          # the REST fake's wire formats: one way to write a price or a count

WS_PATH = "/trade-api/ws/v2"
CHANNELS = ("orderbook_delta", "trade", "fill", "user_orders", "market_lifecycle_v2", "ticker")


def market_id(ticker: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kalshi-fake/{ticker}"))


@dataclass
class Sub:
    sid: int
    channel: str
    tickers: set[str] = field(default_factory=set)   # empty: every market (fill, user_orders, lifecycle)
    seq: int = 0


@dataclass
class Session:
    ws: ServerConnection
    subs: dict[int, Sub] = field(default_factory=dict)
    held: list = field(default_factory=list)          # a message held back for a reorder fault


class KalshiWsFake:
    def __init__(self, world, public_key=None):
        self.world, self.public_key = world, public_key
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server = None
        self.thread: threading.Thread | None = None
        self.sessions: list[Session] = []
        self.next_sid = 0
        self.faults: list[str] = []                   # pending order-book faults, applied in order
        self.sent: list[dict] = []                    # every message sent (the schema test reads them)
        self.connections = 0                          # upgrades accepted
        self.private_faults: list[str] = []           # faults for the fill / user_orders messages
        self.private_held: list = []
        self.rejected = 0                             # upgrades refused (bad signature)
        self.commands: list[dict] = []                # every command received, in order
        self.lock = threading.Lock()
        self.url = ""

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        ready = threading.Event()

        def run():
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)

            async def main():
                self.server = await serve(self.handler, "127.0.0.1", port, process_request=self.check_upgrade,
                                          ping_interval=10, ping_timeout=20, max_size=2 ** 20)
                self.url = f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}{WS_PATH}"
                ready.set()
                await self.server.wait_closed()
            self.loop.run_until_complete(main())

        self.thread = threading.Thread(target=run, name="kalshi-ws-fake", daemon=True)
        self.thread.start()
        if not ready.wait(10):
            raise RuntimeError("the WebSocket fake did not start")
        return self.url

    def stop(self) -> None:
        if self.loop and self.server:
            self.loop.call_soon_threadsafe(self.server.close)
        if self.thread:
            self.thread.join(10)

    def check_upgrade(self, connection, request):
        """The upgrade must be GET /trade-api/ws/v2, signed like REST (timestamp + GET + the path)."""
        if request.path.split("?")[0] != WS_PATH:
            return Response(404, "Not Found", Headers(), b"not found")
        if self.public_key is not None:
            h = request.headers
            key, ts, sig = h.get("KALSHI-ACCESS-KEY"), h.get("KALSHI-ACCESS-TIMESTAMP"), h.get("KALSHI-ACCESS-SIGNATURE")
            if not (key and ts and sig and verify(self.public_key, sig, ts, "GET", WS_PATH)):
                self.rejected += 1
                return Response(401, "Unauthorized", Headers(), b"authentication required")
        self.connections += 1
        return None

    # -- what tests do -----------------------------------------------------------------------------
    def fault(self, kind: str, times: int = 1) -> None:
        assert kind in ("gap", "duplicate", "reorder", "disconnect")
        with self.lock:
            self.faults.extend([kind] * times)

    def change(self, ticker: str, side: str, price: Decimal, delta: Decimal, client_order_id: str | None = None) -> None:
        """Move the world's book and tell every subscriber of the market -- both on the server's loop, so a
        snapshot is always either before the change (and the delta follows it) or after it (and it holds it)."""
        msg = {"market_ticker": ticker, "market_id": market_id(ticker), "price_dollars": d4(price),
               "delta_fp": fp(delta), "side": side, **self._ts()}
        if client_order_id:
            msg["client_order_id"] = client_order_id
        failure: list[BaseException] = []

        async def apply_and_send():
            try:
                self.world.change_book(ticker, side, price, delta)
            except (KeyError, ValueError) as exc:
                failure.append(exc)
                return
            await self._broadcast_book(ticker, "orderbook_delta", msg)
        self._call(apply_and_send)
        if failure:
            raise failure[0]

    def trade(self, ticker: str, yes_price: Decimal, count: Decimal, taker_side: str, at=None) -> str:
        tid = str(uuid.uuid4())
        now_ms = int((at or self.world.now()).timestamp() * 1000)
        msg = {"trade_id": tid, "market_ticker": ticker, "yes_price_dollars": d4(yes_price),
               "no_price_dollars": d4(1 - yes_price), "count_fp": fp(count), "taker_side": taker_side,
               "taker_outcome_side": taker_side, "taker_book_side": "bid" if taker_side == "yes" else "ask",
               "is_block_trade": False, "ts": now_ms // 1000, "ts_ms": now_ms}
        self._call(self._broadcast, "trade", ticker, msg)
        return tid

    def attach(self, rest) -> "KalshiWsFake":
        """Carry the REST fake's private events (its fills and order updates) on the fill and user_orders
        channels, as the exchange does for the key's own orders. `private_faults` ('duplicate', 'reorder',
        'drop') apply to them in order."""
        rest.listeners.append(self.private)
        return self

    def private(self, kind: str, msg: dict) -> None:
        if self.loop is None:
            return
        with self.lock:
            fault = self.private_faults.pop(0) if self.private_faults else None
        if fault == "drop":
            return
        if fault == "reorder":
            self.private_held.append((kind, msg))
            return
        for k, m in [(kind, msg)] * (2 if fault == "duplicate" else 1) + self.private_held:
            self._call(self._broadcast_private, k, m)
        self.private_held.clear()

    async def _broadcast_private(self, kind: str, msg: dict) -> None:
        channel = "fill" if kind == "fill" else "user_orders"
        for s in list(self.sessions):
            for sub in list(s.subs.values()):
                if sub.channel == channel and (not sub.tickers or msg.get("market_ticker", msg.get("ticker")) in sub.tickers):
                    await self._send(s, {"type": kind, "sid": sub.sid, "msg": msg})

    def disconnect_all(self) -> None:
        self._call(self._close_all)

    def subscribed(self, channel: str = "orderbook_delta") -> set[str]:
        """Markets some connection is subscribed to on a channel now. (Read from a test's thread while the
        server's loop changes them: each container is copied whole first -- one atomic step under the GIL --
        never iterated live.)"""
        return {t for s in list(self.sessions) for sub in list(s.subs.values()) if sub.channel == channel
                for t in frozenset(sub.tickers)}

    # -- the server --------------------------------------------------------------------------------
    def _ts(self) -> dict:
        now = self.world.now()
        return {"ts": now.isoformat().replace("+00:00", "Z"), "ts_ms": int(now.timestamp() * 1000)}

    def _call(self, fn, *args) -> None:
        if self.loop is None:
            raise RuntimeError("the WebSocket fake is not started")
        done = threading.Event()

        async def run():
            try:
                await fn(*args)
            finally:
                done.set()
        asyncio.run_coroutine_threadsafe(run(), self.loop)
        done.wait(10)

    async def _send(self, s: Session, msg: dict) -> None:
        self.sent.append(msg)
        try:
            await s.ws.send(json.dumps(msg))
        except ConnectionClosed:
            pass

    async def _send_book(self, s: Session, sub: Sub, msg: dict) -> None:
        """An order-book message in sequence, with any pending fault applied to it."""
        sub.seq += 1
        msg = {**msg, "sid": sub.sid, "seq": sub.seq}
        with self.lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault == "gap":
            return
        if fault == "disconnect":
            await self._close_all()
            return
        if fault == "reorder":
            s.held.append(msg)
            return
        await self._send(s, msg)
        if fault == "duplicate":
            await self._send(s, msg)
        while s.held:
            await self._send(s, s.held.pop(0))

    async def _broadcast_book(self, ticker: str, kind: str, msg: dict) -> None:
        for s in list(self.sessions):
            for sub in list(s.subs.values()):
                if sub.channel == "orderbook_delta" and ticker in sub.tickers:
                    await self._send_book(s, sub, {"type": kind, "msg": msg})

    async def _broadcast(self, channel: str, ticker: str, msg: dict) -> None:
        for s in list(self.sessions):
            for sub in list(s.subs.values()):
                if sub.channel == channel and (not sub.tickers or ticker in sub.tickers):
                    await self._send(s, {"type": channel, "sid": sub.sid, "msg": msg})

    async def _close_all(self) -> None:
        for s in list(self.sessions):
            await s.ws.close(1011, "fake: disconnect")

    async def _snapshot(self, s: Session, sub: Sub, ticker: str) -> None:
        lv = self.world.levels(ticker)
        if lv is None:
            return
        msg = {"market_ticker": ticker, "market_id": market_id(ticker)}
        for side in ("yes", "no"):
            if lv[side]:
                msg[f"{side}_dollars_fp"] = [[d4(p), fp(q)] for p, q in sorted(lv[side].items())]
        await self._send_book(s, sub, {"type": "orderbook_snapshot", "msg": msg})

    async def _error(self, s: Session, cmd_id, code: int, text: str) -> None:
        await self._send(s, {"id": cmd_id, "type": "error", "msg": {"code": code, "msg": text}})

    async def handler(self, ws: ServerConnection) -> None:
        s = Session(ws)
        self.sessions.append(s)
        try:
            async for raw in ws:
                try:
                    cmd = json.loads(raw)
                    cmd_id, name, params = cmd["id"], cmd["cmd"], cmd.get("params") or {}
                except (ValueError, KeyError, TypeError):
                    await self._error(s, None, 1, "Unable to process message")
                    continue
                await self.command(s, cmd_id, name, params)
        except ConnectionClosed:
            pass
        finally:
            self.sessions.remove(s)

    async def command(self, s: Session, cmd_id, name: str, params: dict) -> None:
        self.commands.append({"id": cmd_id, "cmd": name, "params": params})
        tickers = params.get("market_tickers") or ([params["market_ticker"]] if params.get("market_ticker") else [])
        if name == "subscribe":
            channels = params.get("channels") or []
            if not channels or any(c not in CHANNELS for c in channels):
                return await self._error(s, cmd_id, 8, "Unknown channel name")
            for ch in channels:
                if ch == "orderbook_delta" and not tickers:
                    await self._error(s, cmd_id, 14, "Market Ticker required")
                    continue
                self.next_sid += 1
                sub = Sub(self.next_sid, ch, set(tickers))
                s.subs[sub.sid] = sub
                await self._send(s, {"id": cmd_id, "type": "subscribed", "msg": {"channel": ch, "sid": sub.sid}})
                if ch == "orderbook_delta":
                    for t in tickers:
                        await self._snapshot(s, sub, t)
        elif name == "update_subscription":
            sids = params.get("sids") or ([params["sid"]] if params.get("sid") else [])
            if len(sids) != 1:
                return await self._error(s, cmd_id, 12, "Exactly one subscription ID is required")
            sub = s.subs.get(sids[0])
            if sub is None:
                return await self._error(s, cmd_id, 7, "Unknown subscription ID")
            action = params.get("action")
            if action == "add_markets":
                new = [t for t in tickers if t not in sub.tickers]
                sub.tickers.update(tickers)
                await self._send(s, {"id": cmd_id, "sid": sub.sid, "type": "ok", **({"seq": sub.seq} if sub.seq else {}),
                                     "msg": {"market_tickers": sorted(sub.tickers)}})
                if sub.channel == "orderbook_delta":
                    for t in new:
                        await self._snapshot(s, sub, t)
            elif action == "delete_markets":
                sub.tickers.difference_update(tickers)
                await self._send(s, {"id": cmd_id, "sid": sub.sid, "type": "ok", **({"seq": sub.seq} if sub.seq else {}),
                                     "msg": {"market_tickers": sorted(sub.tickers)}})
            elif action == "get_snapshot" and sub.channel == "orderbook_delta":
                for t in tickers:
                    if t in sub.tickers:
                        await self._snapshot(s, sub, t)
            else:
                await self._error(s, cmd_id, 13, "Unsupported action")
        elif name == "unsubscribe":
            if not params.get("sids"):
                return await self._error(s, cmd_id, 4, "Subscription IDs required")
            for sid in params["sids"]:
                sub = s.subs.pop(sid, None)
                if sub is None:
                    await self._error(s, cmd_id, 7, "Unknown subscription ID")
                else:
                    await self._send(s, {"id": cmd_id, "sid": sid, "seq": max(sub.seq, 1), "type": "unsubscribed"})
        else:
            await self._error(s, cmd_id, 5, "Unknown command")

    def book_now(self, ticker: str) -> dict[str, dict[Decimal, Decimal]]:
        return self.world.levels(ticker) or {"yes": {}, "no": {}}
