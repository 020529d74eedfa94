"""The dashboard's WebSocket guard (dashboard/guard.py, issue 26 §1), frame by frame: which of a visitor's
messages reach Streamlit. Driven as ASGI on a clock the test moves (no waiting): the frames are Streamlit's
own BackMsg protobufs; the inner app records what it was given, as Streamlit's handler would see it.
(tests/test_dashboard_browser.py has the whole of it in Chromium through nginx.)"""
from __future__ import annotations

import asyncio

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState

from dashboard.guard import StreamGuard, client_key

RERUN = BackMsg(rerun_script=ClientState()).SerializeToString()
FRAGMENT = BackMsg(rerun_script=ClientState(fragment_id="f1")).SerializeToString()
HEARTBEAT = BackMsg(app_heartbeat=True).SerializeToString()
CLEAR_CACHE = BackMsg(clear_cache=True).SerializeToString()
GIT_INFO = BackMsg(load_git_info=True).SerializeToString()


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def scope(client="203.0.113.7", header: str | None = None, path="/_stcore/stream"):
    headers = [(b"host", b"dash.example")] + ([(b"x-milkbot-client", header.encode())] if header else [])
    return {"type": "websocket", "path": path, "headers": headers, "client": (client, 40000)}


def connect(guard: StreamGuard, frames: list, sc=None):
    """One socket: its handshake, then `frames` (a callable among them is called when reached: the test
    moves the clock there), then the visitor leaves. What the inner app (Streamlit) received, and what
    the guard itself sent the visitor."""
    seen, sent = [], []

    async def inner(scope, receive, send):
        while True:
            msg = await receive()
            if msg["type"] == "websocket.connect":
                seen.append("connect")
                continue
            if msg["type"] == "websocket.disconnect":
                return
            seen.append(msg["bytes"])

    async def run():
        inbox = [{"type": "websocket.connect"}] + [{"type": "websocket.receive", "bytes": f} for f in frames] \
            + [{"type": "websocket.disconnect", "code": 1000}]

        async def receive():
            while callable(inbox[0].get("bytes")):
                inbox.pop(0)["bytes"]()
            return inbox.pop(0)

        async def send(msg):
            sent.append(msg)
        guard.app = inner
        await guard(sc or scope(), receive, send)
    asyncio.run(run())
    return seen, sent


def guard(clock, **kw) -> StreamGuard:
    return StreamGuard(None, clock=clock, **{"run_burst": 3, "run_every_s": 20, "connect_burst": 4,
                                             "connect_every_s": 10, **kw})


def test_runs_beyond_the_clients_budget_never_reach_streamlit_and_the_budget_refills():
    clock = Clock()
    g = guard(clock)
    seen, _ = connect(g, [RERUN] * 10)
    assert seen == ["connect", RERUN, RERUN, RERUN]          # 3 runs; the 7 others wait, and the visitor left
    assert g.stats["run held"] == 1 and g.stats["run superseded"] == 6
    seen, _ = connect(g, [FRAGMENT])                         # the same client, a new socket: still empty
    assert seen == ["connect"]
    clock.t += 20                                            # one run back every 20 s
    seen, _ = connect(g, [RERUN, RERUN])
    assert seen == ["connect", RERUN]
    clock.t += 600                                           # long after: the whole budget, never more
    seen, _ = connect(g, [RERUN] * 5)
    assert seen == ["connect"] + [RERUN] * 3


def test_a_run_beyond_the_budget_waits_for_the_next_token_and_the_newest_one_wins():
    clock = Clock()
    g = guard(clock)
    first = BackMsg(rerun_script=ClientState(query_string="a")).SerializeToString()
    newest = BackMsg(rerun_script=ClientState(query_string="b")).SerializeToString()

    def later():
        clock.t += 20
    seen, _ = connect(g, [RERUN] * 3 + [first, newest, HEARTBEAT, later, HEARTBEAT, RERUN])
    # heartbeats pass while the run waits; the token comes at +20 s: the newest held run goes to
    # Streamlit next; the last run waits again (the visitor leaves before its token)
    assert seen == ["connect"] + [RERUN] * 3 + [HEARTBEAT, HEARTBEAT, newest]
    assert first not in seen


def test_a_held_run_is_released_by_the_clock_alone():
    """On the real clock, a socket that asks once beyond its budget and then says nothing: its run
    reaches Streamlit when the token comes (here after 50 ms), with no further message to wake it."""
    import time

    async def run():
        got, inbox = [], asyncio.Queue()
        for m in [{"type": "websocket.connect"}] + [{"type": "websocket.receive", "bytes": RERUN}] * 2:
            inbox.put_nowait(m)

        async def inner(scope, receive, send):
            while len(got) < 3:
                got.append(await receive())
        g = StreamGuard(inner, run_burst=1, run_every_s=0.05, clock=time.monotonic)
        await asyncio.wait_for(g(scope(), inbox.get, lambda m: None), 30)
        return got
    got = asyncio.run(run())
    assert [m["type"] for m in got] == ["websocket.connect", "websocket.receive", "websocket.receive"]


def test_each_client_has_its_own_budget_keyed_as_nginx_says():
    clock = Clock()
    g = guard(clock)
    assert connect(g, [RERUN] * 5, scope(header="2001:db8:1:2"))[0] == ["connect"] + [RERUN] * 3
    # another client (another /64 as nginx keys it) has a full budget; the peer address (nginx's own,
    # 127.0.0.1 for every visitor) is not the key when nginx names the client
    assert connect(g, [RERUN] * 5, scope(header="2001:db8:1:3"))[0] == ["connect"] + [RERUN] * 3
    assert connect(g, [RERUN], scope(client="127.0.0.1", header="2001:db8:1:2"))[0] == ["connect"]
    # without nginx in front: the peer address
    assert client_key(scope(client="198.51.100.4")) == "198.51.100.4"


def test_clear_cache_and_other_messages_this_page_never_sends_are_dropped():
    clock = Clock()
    g = guard(clock, run_burst=100)
    seen, _ = connect(g, [CLEAR_CACHE, GIT_INFO, RERUN, CLEAR_CACHE])
    assert seen == ["connect", RERUN]            # clear_cache would empty every visitor's shared cache
    assert g.stats["clear_cache dropped"] == 2 and g.stats["load_git_info dropped"] == 1


def test_heartbeats_pass_at_a_browsers_rate_only():
    clock = Clock()
    g = guard(clock, heartbeats_per_s=1)
    seen, _ = connect(g, [HEARTBEAT] * 50)
    assert seen.count(HEARTBEAT) == 10           # a burst of ten per socket, then one a second
    assert g.stats["heartbeat dropped"] == 40


def test_sockets_beyond_the_connect_budget_are_closed_before_streamlit_sees_them():
    clock = Clock()
    g = guard(clock, connect_burst=2)
    assert connect(g, [])[0] == ["connect"]
    assert connect(g, [])[0] == ["connect"]
    seen, sent = connect(g, [RERUN])
    assert seen == [] and sent == [{"type": "websocket.close", "code": 1013}]
    assert connect(g, [], scope(client="198.51.100.9"))[0] == ["connect"]      # another client is let in


def test_an_oversized_frame_closes_the_socket_and_streamlit_hears_it_as_a_disconnect():
    clock = Clock()
    g = guard(clock)
    seen, sent = connect(g, [b"\x00" * 70_000, RERUN])
    assert seen == ["connect"] and sent == [{"type": "websocket.close", "code": 1009}]


def test_other_paths_and_plain_http_pass_untouched():
    clock = Clock()
    g = guard(clock, run_burst=1)
    seen, _ = connect(g, [RERUN] * 3, scope(path="/other"))
    assert seen == ["connect"] + [RERUN] * 3


def test_what_is_dropped_is_logged_once_a_minute_not_per_frame(caplog):
    clock = Clock()
    g = guard(clock, run_burst=1)
    with caplog.at_level("WARNING", logger="milkbot.dashboard.guard"):
        connect(g, [RERUN] * 500)
        assert caplog.records == []                       # 499 dropped: not a line each
        clock.t += 61
        connect(g, [CLEAR_CACHE])
    assert len(caplog.records) == 1
    assert "run superseded 498" in caplog.text and "clear_cache dropped 1" in caplog.text
