"""The dashboard's WebSocket guard (issue 26 §1): what a visitor's socket may ask of Streamlit, and how often.

One Streamlit process serves every visitor, and a run of the page costs it real CPU: ten sockets asking
for a run every 0.1 s stalled it for everyone (a budget inside the page did not help -- an empty run still
costs a session run). This ASGI middleware sits in front of Streamlit's own `/_stcore/stream` handler, in
the same process, and decides per frame before Streamlit sees it:

- a run (`rerun_script`, also a fragment's, and `backend_operation_request`) costs one token from the
  bucket of the visitor's *client* (the address the edge saw, /64 for IPv6, sent by nginx as
  `X-Milkbot-Client`); a bucket holds `run_burst` tokens and gains one every `run_every_s` (6, one every
  10 s: a visitor loads the page, picks a few cities and pages through trades in a burst, then its page
  refreshes once a minute -- six such viewers behind one address; ten attacking addresses get one run a
  second between them). A run asked for without a token is held, not dropped, until the client's next
  token: the newest held run of a socket replaces an older one, so a visitor's click happens late but
  happens, and a flood of requests becomes one run per token;
- a heartbeat is answered (the page needs it to know it is connected) at most `heartbeats_per_s` a second
  per socket, the rest dropped;
- every other message type is dropped: this page has no uploads, no git info, no run-on-save, and
  `clear_cache` would empty the one shared cache for every visitor;
- a new socket costs a token from the client's connect bucket (`connect_burst`, one more every
  `connect_every_s`); without one it is closed (1013, try again later) before Streamlit creates a session;
- a frame over 64 KiB closes the socket (1009): this page's messages are a few hundred bytes.

What is dropped is counted (`stats`), never logged per frame -- logs must not grow at an attacker's rate:
one line a minute at most, with the counts since the last.
A dropped or held frame costs the parse of a small protobuf, nothing of Streamlit's."""
from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field

from streamlit.proto.BackMsg_pb2 import BackMsg

STREAM_SUFFIX = "/_stcore/stream"
MAX_FRAME = 64 * 1024
RUNS = {"rerun_script", "backend_operation_request"}
REPORT_EVERY_S = 60.0
log = logging.getLogger("milkbot.dashboard.guard")


@dataclass
class Bucket:
    tokens: float
    at: float


@dataclass
class Buckets:
    """A token bucket per key: `burst` tokens at most, one more every `every_s` seconds."""
    burst: float
    every_s: float
    clock: object = time.monotonic
    held: dict = field(default_factory=dict)

    def take(self, key: str) -> bool:
        now = self.clock()
        b = self.held.get(key)
        if b is None:
            b = self.held[key] = Bucket(self.burst, now)
        b.tokens = min(self.burst, b.tokens + (now - b.at) / self.every_s)
        b.at = now
        if len(self.held) > 100_000:       # a full bucket says nothing: forget those (bounded memory)
            self.forget_full(now)
        if b.tokens >= 1:
            b.tokens -= 1
            return True
        return False

    def wait_s(self, key: str) -> float:
        """How long until `key` has a token (0 if it has one now)."""
        b = self.held.get(key)
        if b is None:
            return 0.0
        tokens = min(self.burst, b.tokens + (self.clock() - b.at) / self.every_s)
        return max(0.0, (1 - tokens) * self.every_s)

    def forget_full(self, now: float) -> None:
        for k in [k for k, b in self.held.items() if b.tokens + (now - b.at) / self.every_s >= self.burst]:
            del self.held[k]


class StreamGuard:
    """ASGI middleware: see the module's doc. Per client key: `run_burst` runs, one more every
    `run_every_s`; `connect_burst` new sockets, one more every `connect_every_s`."""

    def __init__(self, app, *, run_burst: int = 6, run_every_s: float = 10.0, connect_burst: int = 8,
                 connect_every_s: float = 10.0, heartbeats_per_s: float = 1.0, clock=time.monotonic):
        self.app = app
        self.runs = Buckets(run_burst, run_every_s, clock)
        self.connects = Buckets(connect_burst, connect_every_s, clock)
        self.heartbeats_per_s, self.clock = heartbeats_per_s, clock
        self.stats: Counter = Counter()
        self._reported, self._reported_at = Counter(), clock()

    def note(self, what: str) -> None:
        self.stats[what] += 1
        now = self.clock()
        if now - self._reported_at >= REPORT_EVERY_S:
            since = self.stats - self._reported
            self._reported, self._reported_at = Counter(self.stats), now
            if any(k != "run" for k in since):
                log.warning("websocket guard, last %.0f s: %s", REPORT_EVERY_S,
                            ", ".join(f"{k} {n}" for k, n in sorted(since.items())))

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket" or not scope["path"].endswith(STREAM_SUFFIX):
            return await self.app(scope, receive, send)
        key = client_key(scope)
        if not self.connects.take(key):
            self.note("connect refused")
            if (await receive())["type"] == "websocket.connect":
                await send({"type": "websocket.close", "code": 1013})
            return
        beats = Buckets(max(1.0, 10 * self.heartbeats_per_s), 1 / self.heartbeats_per_s, self.clock)   # per socket
        closed: list[int] = []
        held: list[dict] = []          # the newest run asked beyond the budget, waiting for a token
        reading: list[asyncio.Future] = []

        async def guarded_receive():
            while True:
                if closed:
                    return {"type": "websocket.disconnect", "code": closed[0]}
                if held and self.runs.take(key):
                    self.note("run delayed")
                    return held.pop()
                if not reading:
                    reading.append(asyncio.ensure_future(receive()))
                if held:          # wait for the next message or the next token, whichever comes first
                    await asyncio.wait(reading, timeout=self.runs.wait_s(key))
                    if not reading[0].done():
                        continue
                msg = await reading.pop()
                if msg["type"] != "websocket.receive":
                    return msg
                data = msg.get("bytes")
                if data is None:                      # Streamlit refuses text frames itself
                    return msg
                if len(data) > MAX_FRAME:
                    self.note("too large")
                    closed.append(1009)
                    await send({"type": "websocket.close", "code": 1009})
                    continue
                kind = message_type(data)
                if kind == "rerun_script":
                    if not held and self.runs.take(key):
                        self.note("run")
                        return msg
                    # held, not dropped: the visitor's click happens late, never not at all. A newer
                    # request replaces an older one (its widget states are the newer ones; Streamlit
                    # itself would have cut the older run short for it)
                    self.note("run held" if not held else "run superseded")
                    held[:] = [msg]
                elif kind in RUNS:
                    if self.runs.take(key):
                        self.note("run")
                        return msg
                    self.note(f"{kind} dropped")
                elif kind == "app_heartbeat":
                    if beats.take(""):
                        return msg
                    self.note("heartbeat dropped")
                elif kind is None:                    # not a BackMsg: Streamlit closes it (1002)
                    return msg
                else:
                    self.note(f"{kind} dropped")

        try:
            await self.app(scope, guarded_receive, send)
        finally:
            for r in reading:
                r.cancel()


def message_type(data: bytes) -> str | None:
    msg = BackMsg()
    try:
        msg.ParseFromString(data)
    except Exception:      # noqa: BLE001 -- protobuf's DecodeError; Streamlit answers it with 1002
        return None
    return msg.WhichOneof("type") or ""


def client_key(scope) -> str:
    """The client as the edge saw it (nginx sets X-Milkbot-Client, overwriting any the visitor sent);
    without nginx in front, the peer address."""
    for name, value in scope.get("headers", ()):
        if name == b"x-milkbot-client" and value:
            return value.decode("latin-1")
    client = scope.get("client")
    return client[0] if client else ""
