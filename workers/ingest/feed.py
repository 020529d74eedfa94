"""The market feed: Kalshi's WebSocket (`/trade-api/ws/v2`) into the tape and the live book.

    connect (signed upgrade) -> subscribe: orderbook_delta + trade for every market SQL says to watch,
    fill + user_orders + market_lifecycle_v2 -> read frames -> hand each batch to ops.record_feed
    (our own fill / user_order messages to ops.record_user_feed: the executor's fast path)
    -> ask for the snapshots it names -> follow ops.feed_markets as markets open and close
    -> on loss: ops.feed_lost, reconnect with back-off and jitter, resubscribe, resnapshot

Pings are answered by the websockets library. Everything decided about a message -- its sequence, the
book, what to resnapshot -- is SQL's; this module talks WebSocket and records."""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg.types.json import Jsonb
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential_jitter
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from milkbot import clock

log = logging.getLogger("milkbot.feed")
WS_PATH = "/trade-api/ws/v2"
# what a lost connection or a failed upgrade raises: retried with back-off (anything else is a bug)
RETRYABLE = (OSError, ConnectionClosed, InvalidHandshake, asyncio.TimeoutError)
MARKET_CHANNELS = ("orderbook_delta", "trade")     # subscribed per market


def ws_url(rest_base: str) -> str:
    """https://host/trade-api/v2 -> wss://host/trade-api/ws/v2 (the same host, Kalshi's documented pairing)."""
    u = urlsplit(rest_base)
    scheme = {"https": "wss", "http": "ws"}.get(u.scheme, u.scheme)
    return urlunsplit((scheme, u.netloc, WS_PATH, "", ""))


@dataclass
class FeedStats:
    connections: int = 0
    batches: int = 0
    messages: int = 0
    resnapshots: int = 0
    gaps: int = 0
    fills: int = 0               # our fills recorded from the feed first
    order_updates: int = 0       # our orders moved by user_order messages
    lost: list[str] = field(default_factory=list)


class Feed:
    def __init__(self, conninfo: str, url: str, signer=None, *, now=clock.now, watch_every: float = 30.0,
                 alive_every: float = 5.0, batch_max: int = 500, healthy_after: float = 30.0):
        self.conninfo, self.url, self.signer, self.now = conninfo, url, signer, now
        self.watch_every, self.alive_every, self.batch_max, self.healthy_after = watch_every, alive_every, batch_max, healthy_after
        self.stats = FeedStats()
        self.stopping = asyncio.Event()
        self.cmd_id = 0
        self.sids: dict[str, int] = {}          # channel -> sid on the current connection
        self.watched: dict[str, set[str]] = {}  # channel -> the markets it was asked to follow

    # -- the loop ----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Until stopped: sessions. A lost connection is retried with exponential back-off and jitter
        (tenacity); one that had lived `healthy_after` seconds starts the back-off over."""
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as db:
            self.db = db
            while not self.stopping.is_set():
                async for attempt in AsyncRetrying(retry=retry_if_exception_type(RETRYABLE),
                                                   wait=wait_exponential_jitter(multiplier=0.2, max=30, jitter=1),
                                                   before_sleep=self._before_sleep, sleep=self._sleep, reraise=True):
                    with attempt:
                        if self.stopping.is_set():
                            return
                        started = time.monotonic()
                        try:
                            await self.session()
                        except RETRYABLE:
                            if time.monotonic() - started < self.healthy_after or self.stopping.is_set():
                                raise
                            log.warning("feed: connection lost after %.0f s; reconnecting", time.monotonic() - started)
                    # here: stopped, or a healthy session ended -- a fresh back-off for the next one

    async def _sleep(self, seconds: float) -> None:
        """The back-off's wait, cut short by a stop."""
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    def _before_sleep(self, state) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning("feed: connection lost (%s); reconnecting in %.1f s", type(exc).__name__ if exc else "?",
                    state.upcoming_sleep)

    def stop(self) -> None:
        self.stopping.set()

    # -- one connection ----------------------------------------------------------------------------
    async def session(self) -> None:
        headers = self.signer.headers("GET", WS_PATH) if self.signer else {}
        conn_id = f"{self.now():%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        async with connect(self.url, additional_headers=headers, open_timeout=10, ping_interval=None, close_timeout=2,
                           max_size=2 ** 22) as ws:
            self.stats.connections += 1
            self.sids, self.watched = {}, {}
            queue: asyncio.Queue = asyncio.Queue()
            reader = asyncio.create_task(self._read(ws, queue))
            try:
                await self._subscribe(ws, await self._to_watch())
                await self._pump(ws, queue, conn_id, reader)
            except ConnectionClosed as exc:
                await self._lost(conn_id, f"closed {exc.rcvd.code if exc.rcvd else ''}".strip())
                raise
            except BaseException as exc:
                await self._lost(conn_id, type(exc).__name__)
                raise
            finally:
                reader.cancel()
            await self._lost(conn_id, "stopped")

    async def _lost(self, conn_id: str, why: str) -> None:
        self.stats.lost.append(why)
        try:
            await self.db.execute("select ops.feed_lost(%s, %s, %s)", (conn_id, self.now(), why))
        except psycopg.Error as exc:
            log.error("feed: could not record the lost connection: %s", exc)

    async def _read(self, ws: ClientConnection, queue: asyncio.Queue) -> None:
        """Read every frame as it comes (the server never waits on us); a closed socket ends the pump."""
        try:
            async for raw in ws:
                queue.put_nowait(raw)
        finally:
            queue.put_nowait(None)

    async def _pump(self, ws: ClientConnection, queue: asyncio.Queue, conn_id: str, reader: asyncio.Task) -> None:
        next_watch = time.monotonic() + self.watch_every
        next_alive = time.monotonic()
        while not self.stopping.is_set():
            timeout = max(0.0, min(next_watch, next_alive) - time.monotonic())
            try:
                first = await asyncio.wait_for(queue.get(), timeout)
            except asyncio.TimeoutError:
                first = ""
            batch, closed = [], first is None
            if first:
                batch.append(first)
                while len(batch) < self.batch_max and not queue.empty():
                    item = queue.get_nowait()
                    if item is None:
                        closed = True
                        break
                    batch.append(item)
            if batch:
                await self._record(ws, conn_id, batch)
            if closed:
                await reader   # re-raises how the socket ended (ConnectionClosed)
                raise ConnectionClosed(None, None)
            now = time.monotonic()
            if now >= next_alive:
                await self.db.execute("select ops.feed_alive(%s, %s)", (conn_id, self.now()))
                next_alive = now + self.alive_every
            if now >= next_watch:
                await self._follow(ws, await self._to_watch())
                next_watch = now + self.watch_every

    async def _record(self, ws: ClientConnection, conn_id: str, raw: list[str]) -> None:
        msgs = []
        for r in raw:
            try:
                m = json.loads(r)
            except ValueError:
                log.warning("feed: a frame that is not JSON: %r", r[:200])
                continue
            if not isinstance(m, dict):
                continue
            if m.get("type") == "subscribed":
                self.sids[m["msg"]["channel"]] = m["msg"]["sid"]
                continue
            if m.get("type") == "error":
                log.warning("feed: the exchange refused command %s: %s", m.get("id"), m.get("msg"))
                await self._health("warning", f"the exchange refused a feed command: {m.get('msg')}")
                continue
            if m.get("type") in ("ok", "unsubscribed"):
                continue
            msgs.append(m)
        private = [m for m in msgs if m.get("type") in ("fill", "user_order")]
        if private:
            # our fills and order updates: the executor's fast path (REST reconciles them)
            try:
                cur = await self.db.execute("select ops.record_user_feed(%s, %s)", (Jsonb(private), self.now()))
                got = (await cur.fetchone())[0]
                self.stats.fills += got["fills"]
                self.stats.order_updates += got["orders"]
            except (psycopg.errors.InvalidParameterValue, psycopg.errors.LockNotAvailable,
                    psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as exc:
                # only the fast path is lost: the executor's REST pull and listing record the same
                log.warning("feed: our fills/orders not recorded: %s", str(exc).splitlines()[0])
                await self._health("warning", f"feed: our fills/orders not recorded (REST reconciles): {str(exc).splitlines()[0]}")
            msgs = [m for m in msgs if m.get("type") not in ("fill", "user_order")]
        if not msgs:
            return
        try:
            cur = await self.db.execute("select ops.record_feed(%s, %s, %s)", (conn_id, Jsonb(msgs), self.now()))
            result = (await cur.fetchone())[0]
        except psycopg.errors.InvalidParameterValue as exc:
            # a message SQL refuses (malformed): recorded, and the batch's markets resnapshotted
            log.warning("feed: a batch refused: %s", str(exc).splitlines()[0])
            await self._health("warning", f"a feed batch was refused: {str(exc).splitlines()[0]}")
            tickers = sorted({(m.get("msg") or {}).get("market_ticker") for m in msgs} - {None})
            result = {"resnapshot": tickers, "gaps": 0, "refused": []}
        self.stats.batches += 1
        self.stats.messages += len(msgs)
        self.stats.gaps += result.get("gaps", 0)
        for what in result.get("refused") or []:
            await self._health("warning", f"feed: not stored: {what}")
        if result.get("resnapshot"):
            self.stats.resnapshots += len(result["resnapshot"])
            await self._command(ws, "update_subscription", {"sids": [self.sids["orderbook_delta"]],
                                                            "market_tickers": result["resnapshot"], "action": "get_snapshot"})

    async def _health(self, level: str, message: str) -> None:
        try:
            await self.db.execute("select ops.health_event('kalshi_ingest', %s, %s)", (level, message[:500]))
        except psycopg.Error as exc:
            log.error("feed: could not record a health event: %s", exc)

    # -- subscriptions -----------------------------------------------------------------------------
    async def _to_watch(self) -> set[str]:
        cur = await self.db.execute("select ops.feed_markets(%s)", (self.now(),))
        return {r[0] for r in await cur.fetchall()}

    async def _command(self, ws: ClientConnection, cmd: str, params: dict) -> None:
        self.cmd_id += 1
        await ws.send(json.dumps({"id": self.cmd_id, "cmd": cmd, "params": params}))

    async def _subscribe(self, ws: ClientConnection, tickers: set[str]) -> None:
        await self._command(ws, "subscribe", {"channels": ["fill", "user_orders", "market_lifecycle_v2"]})
        if tickers:
            await self._command(ws, "subscribe", {"channels": list(MARKET_CHANNELS), "market_tickers": sorted(tickers)})
        self.watched = {ch: set(tickers) for ch in MARKET_CHANNELS}

    async def _follow(self, ws: ClientConnection, tickers: set[str]) -> None:
        """Markets discovered since are added (with their snapshots), closed ones dropped -- per channel,
        once the exchange has acknowledged that channel's subscription (until then it keeps what it was
        asked for, and the next round catches up)."""
        if tickers and not any(self.watched.values()) and not any(ch in self.sids for ch in MARKET_CHANNELS):
            await self._command(ws, "subscribe", {"channels": list(MARKET_CHANNELS), "market_tickers": sorted(tickers)})
            self.watched = {ch: set(tickers) for ch in MARKET_CHANNELS}
            return
        for channel in MARKET_CHANNELS:
            sid = self.sids.get(channel)
            if sid is None:
                continue
            had = self.watched.get(channel, set())
            add, drop = sorted(tickers - had), sorted(had - tickers)
            if add:
                await self._command(ws, "update_subscription", {"sids": [sid], "market_tickers": add, "action": "add_markets"})
            if drop:
                await self._command(ws, "update_subscription", {"sids": [sid], "market_tickers": drop, "action": "delete_markets"})
            self.watched[channel] = set(tickers)

def feed_signer(settings):
    """The feed signs its upgrade with the configured key in every mode: it only reads (the order-book
    channel requires an authenticated connection); without a key it connects unsigned, which the real
    exchange refuses (recorded, retried) while REST polling goes on."""
    from workers.common.kalshi_auth import KalshiSigner
    key_id, key_file = settings.extra.get("MILKBOT_KALSHI_KEY_ID"), settings.extra.get("MILKBOT_KALSHI_KEY_FILE")
    return KalshiSigner.from_file(key_id, key_file) if key_id and key_file else None


def run(settings) -> int:
    """`milkbot feed`: until SIGINT/SIGTERM, with one line a minute of what it did."""
    from milkbot.db import Database
    from milkbot.shutdown import StopRequest, say
    url = settings.extra.get("MILKBOT_KALSHI_WS_URL") or ws_url(settings.kalshi_base_url)
    feed = Feed(Database(settings).role_conninfo("milkbot_executor"), url, feed_signer(settings))   # the executor's zone
    stop = StopRequest("feed")

    async def main():
        task = asyncio.create_task(feed.run())
        last = time.monotonic()
        while not task.done():
            await asyncio.wait({task}, timeout=1)      # a stop is seen within a second
            if stop.requested:
                feed.stop()
            elif time.monotonic() - last >= 60:
                last = time.monotonic()
                s = feed.stats
                say(f"feed: {s.connections} connection(s), {s.messages} messages in {s.batches} batches, "
                    f"{s.gaps} gap(s), {s.resnapshots} resnapshot(s)")
        await task

    say(f"feed: {url} ({'signed' if feed.signer else 'unsigned'})")
    asyncio.run(main())
    say("feed: stopped")
    return 0
