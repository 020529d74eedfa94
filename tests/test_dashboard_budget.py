"""A visitor connection that asks Streamlit for run after run gets empty runs once over its budget
(issue 26 §1: ten sockets asking for a rerun every 0.1 s stalled the one dashboard process for every
visitor). Driven over the real WebSocket protocol against the real Streamlit server: each run is asked
for only when the previous one has finished (no sleeps)."""
from __future__ import annotations

import asyncio

import pytest

from conftest import SETTINGS
from fakes.ports import free_ports


async def runs(url: str, n: int) -> list[int]:
    """Ask for n full runs, one after another; the number of page elements (deltas) each one sent."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    per_run = []
    async with websockets.connect(url, max_size=None) as ws:
        for _ in range(n):
            await ws.send(BackMsg(rerun_script=ClientState()).SerializeToString())
            deltas = 0
            while True:
                msg = ForwardMsg()
                msg.ParseFromString(await asyncio.wait_for(ws.recv(), 120))
                kind = msg.WhichOneof("type")
                deltas += kind == "delta"
                if kind == "script_finished":
                    break
            per_run.append(deltas)
    return per_run


@pytest.fixture
def dashboard(monkeypatch):
    from milkbot.dashboard_server import start
    monkeypatch.setenv("MILKBOT_DASHBOARD_RUN_BUDGET", "3")
    (port,) = free_ports(1)
    dash = start(SETTINGS, port=port, api_url="http://127.0.0.1:9/v1")   # no API: the page says so, and renders
    yield f"ws://127.0.0.1:{port}/_stcore/stream"
    dash.stop()


def test_a_connection_over_its_run_budget_gets_empty_runs(dashboard):
    first = asyncio.run(runs(dashboard, 6))
    assert all(d > 0 for d in first[:3]), first            # the budget: full pages
    assert first[3:] == [0, 0, 0], first                    # then nothing is built for this connection
    # another visitor's connection has its own budget: a full page
    assert all(d > 0 for d in asyncio.run(runs(dashboard, 1)))
