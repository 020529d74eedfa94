"""The dashboard as served: the page (app.py) behind the WebSocket guard (guard.py), as one ASGI app.
`streamlit run dashboard/serve.py` finds `app` and serves it (Streamlit's own server, uvicorn).

MILKBOT_DASHBOARD_RUN_BURST runs at most (default 6), one more every MILKBOT_DASHBOARD_RUN_EVERY_S seconds
(default 10), per client; MILKBOT_DASHBOARD_CONNECT_BURST new sockets (default 8), one more every
MILKBOT_DASHBOARD_CONNECT_EVERY_S (default 10)."""
from __future__ import annotations

import os

import streamlit as st
from starlette.middleware import Middleware

from dashboard.guard import StreamGuard

app = st.App("app.py", middleware=[Middleware(
    StreamGuard,
    run_burst=int(os.environ.get("MILKBOT_DASHBOARD_RUN_BURST", "6")),
    run_every_s=float(os.environ.get("MILKBOT_DASHBOARD_RUN_EVERY_S", "10")),
    connect_burst=int(os.environ.get("MILKBOT_DASHBOARD_CONNECT_BURST", "8")),
    connect_every_s=float(os.environ.get("MILKBOT_DASHBOARD_CONNECT_EVERY_S", "10")))])
