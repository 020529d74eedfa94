"""HTTP reads of the public Analytics API: the dashboard's only source of data.

`fetch` is a plain GET of one view with PostgREST query parameters; any failure (connection refused,
timeout, a non-200 answer, a body that is not a JSON list) raises `ApiUnavailable` with a message fit for
the public -- never the upstream text. `requests_made` counts real HTTP requests (cache hits excluded),
which the benchmark reports per refresh."""
from __future__ import annotations

import logging
import os
import threading

import httpx

DEFAULT_URL = "http://127.0.0.1:8000/v1"
TIMEOUT_S = 5.0
log = logging.getLogger("milkbot.dashboard")

_lock = threading.Lock()
requests_made = 0


class ApiUnavailable(Exception):
    """The public API did not give a usable answer. str() is safe to show a visitor."""


def base_url() -> str:
    return os.environ.get("MILKBOT_PUBLIC_API_URL", DEFAULT_URL).rstrip("/")


_client: httpx.Client | None = None


def _http() -> httpx.Client:
    global _client
    if _client is None:   # one pooled client per process: keep-alive to nginx across reruns and sessions
        _client = httpx.Client(timeout=TIMEOUT_S, headers={"Accept": "application/json"})
    return _client


def fetch(base: str, view: str, params: tuple[tuple[str, str], ...] = ()) -> list[dict]:
    global requests_made
    with _lock:
        requests_made += 1
    try:
        r = _http().get(f"{base}/{view}", params=list(params))
    except httpx.HTTPError as exc:
        log.warning("public API %s: %s", view, type(exc).__name__)
        raise ApiUnavailable("The data service is not answering right now.") from None
    if r.status_code != 200:
        log.warning("public API %s: HTTP %s", view, r.status_code)
        raise ApiUnavailable("The data service answered with an error.")
    try:
        rows = r.json()
    except ValueError:
        rows = None
    if not isinstance(rows, list) or not all(isinstance(x, dict) for x in rows):
        log.warning("public API %s: body is not a list of rows", view)
        raise ApiUnavailable("The data service sent something unexpected.")
    return rows
