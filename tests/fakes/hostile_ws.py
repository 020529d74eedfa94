"""Hostile dashboard visitors: WebSockets speaking Streamlit's own protocol (BackMsg protobufs) from many
loopback addresses (127.0.x.y: the whole of 127/8 is this host, and nginx keys its clients by address),
each asking for a full run every few tenths of a second -- or, idle, saying nothing after the handshake.
Used by tests/test_dashboard_browser.py and bench/public_dashboard.py (issue 26 §1)."""
from __future__ import annotations

import asyncio
import threading

HOSTILE_SOCKETS, HOSTILE_EVERY_S = 10, 0.1


class Hostile:
    """Sockets speaking Streamlit's own protocol from `addresses` loopback addresses (127.0.0.2, ...; the
    local nginx keys its clients by address as the edge does), `per_address` each: each asks for a full
    run every `every_s` seconds and reads what comes back, as a browser would -- or, `idle`, says
    nothing after its handshake. In a thread until stopped. Counts the runs asked for and the runs
    Streamlit finished for them (`finished`)."""

    def __init__(self, url: str, *, addresses: int = HOSTILE_SOCKETS, per_address: int = 1,
                 every_s: float = HOSTILE_EVERY_S, idle: bool = False, first_octet: int = 0):
        self.url, self.addresses, self.per_address, self.every_s, self.idle = url, addresses, per_address, every_s, idle
        self.first_octet = first_octet
        self.stop, self.asked, self.open, self.refused, self.finished = threading.Event(), 0, 0, 0, 0
        self.thread = threading.Thread(target=lambda: asyncio.run(self._all()), daemon=True)

    async def _one(self, address: str):
        import websockets
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ClientState_pb2 import ClientState
        try:
            ws = await websockets.connect(self.url, max_size=None, local_addr=(address, 0), open_timeout=60)
        except Exception:                       # noqa: BLE001 -- refused (budget) or timed out: counted
            self.refused += 1
            return
        self.open += 1
        async with ws:
            async def drain():
                from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
                try:
                    async for frame in ws:
                        msg = ForwardMsg()
                        msg.ParseFromString(frame)
                        self.finished += msg.WhichOneof("type") == "script_finished"
                except websockets.ConnectionClosed:      # the server gave up on us (or we on it)
                    pass
            reader = asyncio.ensure_future(drain())
            while not self.stop.is_set():
                if not self.idle:
                    await ws.send(BackMsg(rerun_script=ClientState()).SerializeToString())
                    self.asked += 1
                # the attacker's pace is the load under test (a run asked every `every_s`), not a wait
                # for an event: nothing here synchronises with the server
                await asyncio.sleep(self.every_s)
            reader.cancel()

    async def _all(self):
        await asyncio.gather(*(self._one(f"127.0.{self.first_octet + 1 + a // 250}.{2 + a % 250}")
                               for a in range(self.addresses) for _ in range(self.per_address)),
                             return_exceptions=True)

    def wait_open(self, n: int, timeout: float = 120) -> None:
        """Until n sockets have had their handshake (or were refused): an event in another thread,
        polled -- it offers nothing to block on."""
        from fakes.waiting import wait_for
        wait_for(lambda: self.open + self.refused >= n, f"{n} hostile sockets open", timeout,
                 gone=lambda: None if self.thread.is_alive() else "the hostile sockets' thread ended")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(60)
