"""The data provider: cached reads of the public API (`st.cache_data`, shared by every visitor: the data
are public) and, when the API is down, the last good answer with the time it was fetched.

The last good answers live in this module, not in the script: Streamlit re-executes the script on every
run, while imported modules persist for the life of the server process."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import datetime

import streamlit as st

from milkbot import clock

from . import public_api

# half the refresh period: every refresh reads fresh data, and each view is read at most once per
# period however many visitors are watching
CACHE_TTL_S = float(os.environ.get("MILKBOT_DASHBOARD_REFRESH_S", "60")) / 2


@dataclass
class Reading:
    rows: list[dict] = field(default_factory=list)
    fetched_at: datetime | None = None    # when these rows were read from the API (None: never)
    problem: str | None = None            # a visitor-safe sentence when these are not fresh rows

    @property
    def ok(self) -> bool:
        return self.problem is None


_last_good: dict[tuple, tuple[list[dict], datetime]] = {}
_lock = threading.Lock()


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=256)
def _cached(base: str, view: str, params: tuple[tuple[str, str], ...]) -> tuple[list[dict], datetime]:
    return public_api.fetch(base, view, params), clock.now()


def read(view: str, **params: str | int) -> Reading:
    key = (public_api.base_url(), view, tuple(sorted((k, str(v)) for k, v in params.items())))
    try:
        rows, at = _cached(*key)
    except public_api.ApiUnavailable as exc:
        with _lock:
            last = _last_good.get(key)
        if last:
            return Reading(last[0], last[1], f"{exc} Showing the last data received.")
        return Reading([], None, f"{exc} No data received yet.")
    with _lock:
        _last_good[key] = (rows, at)
    return Reading(rows, at, None)


def forget() -> None:
    """Drop cached and last good answers (tests and the benchmark start from nothing)."""
    _cached.clear()
    with _lock:
        _last_good.clear()
