"""The ingest worker: NWS and Kalshi market data into ops. It decides nothing; after each pass it
calls the SQL trading cycle.

    for each city:  grid (cached /points) -> raw grid, 12-h and hourly forecasts -> observations -> CLI
    exchange status; for each city series: series -> open markets (cursor) -> orderbooks
    markets past close -> settlement status
    heartbeats; ops.run_cycle(clock.now())
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import format_datetime

import psycopg

from milkbot import clock
from milkbot.config import Settings
from workers.common.http import Client, HttpError, OutageError
from workers.common.wire import PayloadError
from . import nws, store
from .cli_report import CliParseError, parse_cli_product
from .kalshi_market import Series, monthly_kind, parse_market, parse_orderbook, parse_series, parse_series_list

log = logging.getLogger("milkbot.ingest")
GRID_TTL = timedelta(days=1)


@dataclass
class PassReport:
    requests: int = 0
    snapshots: int = 0
    markets: int = 0
    books: int = 0
    errors: int = 0
    stale: list[str] = field(default_factory=list)
    cycle: dict | None = None
    failures: dict = field(default_factory=dict)     # host -> {cause: count}

    def failure_lines(self, offline_hint: bool) -> list[str]:
        """One line per host with the real causes; and, when nothing could be reached, how to run offline."""
        lines = [f"ingest: {host}: {sum(c.values())} request(s) failed: "
                 + "; ".join(f"{cause} (x{n})" for cause, n in sorted(c.items(), key=lambda kv: -kv[1]))
                 for host, c in sorted(self.failures.items())]
        unreachable = any(any(k.startswith("connection failed") or k == "timeout" for k in c) for c in self.failures.values())
        if lines and offline_hint and unreachable:
            lines.append("ingest: the real NWS/Kalshi hosts cannot be reached from here; "
                         "`MILKBOT_SIM=1 make run` runs the whole system offline against local fakes")
        return lines


class PassStopped(Exception):
    """A stop was requested: the pass ends between two requests (nothing half-written: each write is its
    own transaction)."""


class Ingest:
    def __init__(self, settings: Settings, conn: psycopg.Connection, nws_http: Client, kalshi_http: Client,
                 *, now=clock.now, should_stop=lambda: False):
        self.settings, self.conn, self.nws, self.kalshi, self.now = settings, conn, nws_http, kalshi_http, now
        self.should_stop = should_stop
        self.stale_after = timedelta(hours=float(settings.extra.get("MILKBOT_NWS_STALE_HOURS", "6")))
        self.obs_limit = int(settings.extra.get("MILKBOT_NWS_OBS_LIMIT", "48"))
        self.report = PassReport()

    # -- plumbing ---------------------------------------------------------------------------------
    def _get(self, client: Client, path: str, **kw):
        if self.should_stop():
            raise PassStopped()
        self.report.requests += 1
        return client.get(path, **kw)

    def _failed(self, source: str, url: str, exc: Exception, city: str | None = None):
        self.report.errors += 1
        status = getattr(exc, "status", None)
        body = getattr(exc, "body", None)
        kind = "outage" if isinstance(exc, OutageError) else type(exc).__name__
        store.record_error(self.conn, source, url, status, f"{kind}: {exc}", body, city)
        log.debug("%s %s: %s", source, url, exc)   # every failure is recorded; the pass prints one line per host
        full = getattr(exc, "url", None) or url
        host = full.split("/")[2] if "://" in full else source
        cause = getattr(exc, "message", None) or str(exc).splitlines()[0]
        if status:
            cause = f"HTTP {status} {cause}"
        per_host = self.report.failures.setdefault(host, {})
        per_host[cause[:160]] = per_host.get(cause[:160], 0) + 1

    # -- NWS --------------------------------------------------------------------------------------
    def grid(self, city: store.City, force: bool = False) -> nws.Grid:
        cached = store.cached_grid(self.conn, city.code)
        if (cached and not force and self.now() - cached[6] < GRID_TTL
                and cached[5].startswith(self.nws.base_url)):   # a grid from another base URL is re-resolved
            return nws.Grid(*cached[:6], None)
        lat, lon = round(city.latitude, 4), round(city.longitude, 4)   # more decimals -> 301
        reply = self._get(self.nws, f"/points/{lat},{lon}")
        grid = nws.parse_points(reply.json())
        store.save_grid(self.conn, city.code, grid, self.now())
        return grid

    def _forecast(self, city, grid, source: str, url: str, parse, fsource: str, conditional: bool = False):
        headers = {}
        if conditional:
            last = store.last_issued(self.conn, source, f"{grid.grid_id}/{grid.grid_x},{grid.grid_y}")
            if last:
                headers["If-Modified-Since"] = format_datetime(last, usegmt=True)
        reply = self._get(self.nws, url, headers=headers, ok=(200, 304))
        if reply.status == 304:   # nothing new since the grid we hold: it is confirmed current
            return store.confirm_unchanged(self.conn, source, f"{grid.grid_id}/{grid.grid_x},{grid.grid_y}", self.now())
        payload = reply.json()
        fetched = self.now()
        parsed = parse(payload, city.std_offset)
        issued, generated, values = (parsed[0], None, parsed[1]) if len(parsed) == 2 else parsed
        stale = fetched - issued > self.stale_after or (generated is not None and fetched - generated > self.stale_after)
        entity = f"{grid.grid_id}/{grid.grid_x},{grid.grid_y}"
        hours = nws.parse_hourly_temps(payload) if fsource == "hourly" and not stale else []
        precip = self._precip(city, url, payload) if fsource == "gridpoint" else []

        def children(sid):
            store.insert_forecasts(self.conn, sid, city.code, fsource, values, issued, fetched, grid, stale)
            store.insert_hourly_temps(self.conn, sid, city.code, hours, fetched)
            store.insert_precip_forecasts(self.conn, sid, city.code, fsource, precip, issued, fetched, stale)
        sid = store.save_weather(
            self.conn, source=source, entity=entity, city=city.code, fetched_at=fetched, payload=payload,
            issued_at=issued, generated_at=generated, grid=grid, is_stale=stale, children=children)
        if sid:
            self.report.snapshots += 1
        if stale:
            self.report.stale.append(f"{city.code}:{source}")
            store.health_event(self.conn, "nws_ingest", "warning",
                               f"{city.code} {source} is stale: updateTime {issued:%Y-%m-%d %H:%MZ}, fetched {fetched:%Y-%m-%d %H:%MZ}")

    def _precip(self, city, url: str, payload) -> list:
        """The grid's precipitation layers (the Monthly model's forecast days). Unreadable ones are a
        recorded error; the temperatures of the same grid still land."""
        try:
            return nws.parse_gridpoint_precip(payload, city.std_offset)
        except PayloadError as exc:
            self._failed("nws", url, exc, city.code)
            return []

    def nws_city(self, city: store.City):
        try:
            grid = self.grid(city)
        except (HttpError, PayloadError) as exc:
            return self._failed("nws", f"/points/{city.latitude},{city.longitude}", exc, city.code)
        for source, url, parse, fsource, cond in (
                ("nws_gridpoint", grid.grid_url, nws.parse_gridpoint, "gridpoint", True),
                ("nws_forecast", grid.forecast_url, nws.parse_forecast_12h, "forecast_12h", False),
                ("nws_hourly", grid.hourly_url, nws.parse_hourly, "hourly", False)):
            try:
                self._forecast(city, grid, source, url, parse, fsource, cond)
            except HttpError as exc:
                if exc.status == 404:   # grids drift: re-resolve and try once more
                    try:
                        grid = self.grid(city, force=True)
                        url = {"nws_gridpoint": grid.grid_url, "nws_forecast": grid.forecast_url,
                               "nws_hourly": grid.hourly_url}[source]
                        self._forecast(city, grid, source, url, parse, fsource, cond)
                        continue
                    except (HttpError, PayloadError) as again:
                        exc = again
                self._failed("nws", url, exc, city.code)
            except PayloadError as exc:
                self._failed("nws", url, exc, city.code)
        self.observations(city)
        self.climate_reports(city)

    def observations(self, city: store.City):
        path = f"/stations/{city.station_icao}/observations"
        try:
            payload = self._get(self.nws, path, params={"limit": self.obs_limit}).json()
            obs, _skipped = nws.parse_observations(payload)
            sid = store.save_weather(self.conn, source="nws_observations", entity=city.station_icao, city=city.code,
                                     fetched_at=self.now(), payload=payload,
                                     children=lambda sid: store.insert_observations(self.conn, sid, city, obs))
            if sid:
                self.report.snapshots += 1
        except (HttpError, PayloadError) as exc:
            self._failed("nws", path, exc, city.code)

    def climate_reports(self, city: store.City):
        path = f"/products/types/CLI/locations/{city.cli_location}"
        try:
            listing = nws.parse_cli_list(self._get(self.nws, path, headers={"Accept": "application/ld+json"}).json())
        except (HttpError, PayloadError) as exc:
            return self._failed("nws", path, exc, city.code)
        known = store.known_products(self.conn, city.code)
        for product_id, _issued in listing:
            if product_id in known:
                continue
            ppath = f"/products/{product_id}"
            try:
                payload = self._get(self.nws, ppath, headers={"Accept": "application/ld+json"}).json()
                reports, _pid, issued = parse_cli_product(payload)
                fetched = self.now()

                def children(_sid, reports=reports, issued=issued, payload=payload, fetched=fetched):
                    for r in reports:
                        store.insert_climate_report(self.conn, city.code, r, product_id, issued or fetched,
                                                    payload["productText"], fetched)
                if store.save_weather(self.conn, source="nws_cli", entity=product_id, city=city.code,
                                      fetched_at=fetched, payload=payload, issued_at=issued, children=children):
                    self.report.snapshots += 1
                    for r in reports:          # stored with those amounts null: said, never guessed
                        if r.problems:
                            store.health_event(self.conn, "nws_ingest", "warning",
                                               f"{city.code} CLI {product_id} {r.climate_date}: " + "; ".join(r.problems))
            except (HttpError, PayloadError, CliParseError) as exc:
                self._failed("nws", ppath, exc, city.code)

    # -- Kalshi -----------------------------------------------------------------------------------
    def exchange_status(self):
        try:
            body = self._get(self.kalshi, "/exchange/status").json()
            if not isinstance(body.get("exchange_active"), bool) or not isinstance(body.get("trading_active"), bool):
                raise PayloadError("exchange status without exchange_active/trading_active booleans")
            store.set_exchange_status(self.conn, body["exchange_active"], body["trading_active"], self.now())
        except (HttpError, PayloadError) as exc:
            self._failed("kalshi", "/exchange/status", exc)

    def discover_monthly(self, cities: list[store.City]) -> None:
        """GET /series (category Climate and Weather): record which monthly rain/snow series are listed for
        our cities (KXRAIN<CITY>M, KX<CITY>SNOWM). Listing a series makes its markets read and priced; only
        an operator's verified series (ops.monthly_series.series_ticker + enabled) is traded."""
        try:
            listings = parse_series_list(self._get(self.kalshi, "/series", params={"category": "Climate and Weather"}).json())
        except (HttpError, PayloadError) as exc:
            self._failed("kalshi", "/series?category=Climate and Weather", exc)
            return
        codes = {c.code for c in cities}
        listed = {}
        for s in listings:
            found = monthly_kind(s.ticker, codes)
            if found:
                listed[found] = (s.ticker, s.title)
        store.set_monthly_listing(self.conn, listed, self.now())

    def series_markets(self, city: store.City, series_ticker: str, kind: str) -> list[str]:
        try:
            series = parse_series(self._get(self.kalshi, f"/series/{series_ticker}").json())
        except (HttpError, PayloadError) as exc:
            self._failed("kalshi", f"/series/{series_ticker}", exc, city.code)
            return []
        tickers, cursor = [], None
        while True:
            params = {"series_ticker": series.ticker, "status": "open", "limit": 200}
            if cursor:
                params["cursor"] = cursor
            try:
                body = self._get(self.kalshi, "/markets", params=params).json()
                markets = body.get("markets")
                if not isinstance(markets, list):
                    raise PayloadError("markets: no markets list")
            except (HttpError, PayloadError) as exc:
                self._failed("kalshi", f"/markets?series_ticker={series.ticker}", exc, city.code)
                return tickers
            for m in markets:
                try:
                    row = parse_market(m, series=series, city_code=city.code, kind=kind)
                    store.upsert_market(self.conn, row, self.now())
                    tickers.append(row["ticker"])
                    self.report.markets += 1
                except (PayloadError, psycopg.errors.CheckViolation, psycopg.errors.ForeignKeyViolation) as exc:
                    self._failed("kalshi", f"/markets?series_ticker={series.ticker}", PayloadError(str(exc).splitlines()[0]), city.code)
            cursor = body.get("cursor")
            if not cursor:
                return tickers

    def books(self, tickers: list[str]):
        use_batch = self.kalshi.signer is not None
        for i in range(0, len(tickers), 100 if use_batch else 1):
            chunk = tickers[i:i + (100 if use_batch else 1)]
            try:
                if use_batch:
                    body = self._get(self.kalshi, "/markets/orderbooks", params={"tickers": ",".join(chunk)}, sign=True).json()
                    pairs = [(ob.get("ticker"), ob) for ob in body.get("orderbooks") or []]
                else:
                    pairs = [(chunk[0], self._get(self.kalshi, f"/markets/{chunk[0]}/orderbook").json())]
            except (HttpError, PayloadError) as exc:
                self._failed("kalshi", f"/markets/{chunk[0]}/orderbook", exc)
                continue
            fetched = self.now()
            for ticker, payload in pairs:
                try:
                    if ticker not in chunk:
                        raise PayloadError(f"orderbook for unrequested ticker {ticker!r}")
                    if store.save_book(self.conn, ticker, parse_orderbook(payload, ticker), fetched):
                        self.report.books += 1
                except PayloadError as exc:
                    self._failed("kalshi", f"/markets/{ticker}/orderbook", exc)

    def settlements(self):
        """Markets past close: re-read until Kalshi reports them finalized with a result."""
        for ticker in store.open_tickers_past_close(self.conn, self.now()):
            try:
                m = self._get(self.kalshi, f"/markets/{ticker}").json().get("market")
                row = self.conn.execute("select city_code, kind::text, series_ticker, fee_type, fee_multiplier from ops.markets where ticker = %s",
                                        (ticker,)).fetchone()
                self.conn.commit()
                store.upsert_market(self.conn, parse_market(m, series=Series(row[2], row[3], row[4]), city_code=row[0], kind=row[1]),
                                    self.now())
            except (HttpError, PayloadError) as exc:
                self._failed("kalshi", f"/markets/{ticker}", exc)

    def _guarded(self, source: str, city: str, fn, *args):
        """A database error on one city is recorded and the pass goes on (the failed write rolled back)."""
        try:
            return fn(*args)
        except psycopg.Error as exc:
            self.conn.rollback()
            self._failed(source, f"(database) {fn.__name__} {city}", PayloadError(str(exc).splitlines()[0]), city)
            return None

    # -- one pass ---------------------------------------------------------------------------------
    def run_once(self, *, weather: bool = True, markets: bool = True, cycle: bool = True) -> PassReport:
        cities = store.load_cities(self.conn)
        if weather:
            errors0 = self.report.errors
            for city in cities:
                self._guarded("nws", city.code, self.nws_city, city)
            store.health(self.conn, "nws_ingest", self.report.errors == errors0,
                         f"{self.report.snapshots} new snapshots, {self.report.errors - errors0} errors, stale: {','.join(self.report.stale) or 'none'}")
        if markets:
            errors0 = self.report.errors
            self.exchange_status()
            tickers = []
            for city in cities:
                tickers += self._guarded("kalshi", city.code, self.series_markets, city, city.high_series, "high") or []
                tickers += self._guarded("kalshi", city.code, self.series_markets, city, city.low_series, "low") or []
            # Monthly rain and snow: the series GET /series lists for our cities, then their markets
            self._guarded("kalshi", "all", self.discover_monthly, cities)
            by_code = {c.code: c for c in cities}
            for code, kind, series_ticker in store.monthly_series_to_read(self.conn):
                if code in by_code:
                    tickers += self._guarded("kalshi", code, self.series_markets, by_code[code], series_ticker, kind) or []
            self.books(tickers)
            self.settlements()
            store.health(self.conn, "kalshi_ingest", self.report.errors == errors0,
                         f"{self.report.markets} markets, {self.report.books} new books, {self.report.errors - errors0} errors")
        if cycle and not self.should_stop():
            try:
                self.conn.execute("select set_config('milkbot.mode', %s, false), set_config('milkbot.host', %s, false)",
                                  (self.settings.mode, book_host(self.settings)))
                self.report.cycle = self.conn.execute("select ops.run_cycle(%s)", (self.now(),)).fetchone()[0]
                self.conn.commit()
            except psycopg.Error as exc:
                self.conn.rollback()
                why = f"run_cycle failed: {str(exc).splitlines()[0]}"[:500]
                self.report.errors += 1
                self.report.cycle = {"failed": why}
                store.health(self.conn, "cycle", False, why)     # (a failed heartbeat is also a health event)
        return self.report


def book_host(settings: Settings) -> str:
    """The host whose book a cycle decides for: paper, or the exchange's host."""
    return "paper" if settings.mode == "paper" else settings.kalshi_base_url.split("/")[2]


def _keep_reacting(reactor, stop) -> None:
    """The reaction thread: a lost database connection is retried every few seconds, never fatal to the
    pass loop (the sweep still runs every pass)."""
    while not stop.requested:
        try:
            reactor.run()
        except psycopg.OperationalError as exc:
            log.warning("react: database unreachable, retrying: %s", str(exc).strip().splitlines()[0])
            stop.wait(5)


def run(settings: Settings, *, once: bool, interval: float = 300.0) -> int:
    from milkbot.db import Database
    from milkbot.shutdown import StopRequest, say
    from .sources import kalshi_client, kalshi_signer, nws_client
    stop = StopRequest("ingest")
    db = Database(settings)
    nws_http, kalshi_http = nws_client(settings), kalshi_client(settings, signer=kalshi_signer(settings))
    if not once:   # between passes, each event whose book or position moves gets its own cycle at once
        from .react import Reactor
        reactor = Reactor(db.role_conninfo("milkbot_ingest"), mode=settings.mode, host=book_host(settings),
                          should_stop=lambda: stop.requested,
                          debounce=float(settings.extra.get("MILKBOT_REACT_DEBOUNCE_S", "0.25")))
        threading.Thread(target=_keep_reacting, args=(reactor, stop), name="react", daemon=True).start()
    while not stop.requested:
        started = time.monotonic()
        try:
            with psycopg.connect(db.role_conninfo("milkbot_ingest")) as conn:
                report = Ingest(settings, conn, nws_http, kalshi_http, should_stop=lambda: stop.requested).run_once()
        except PassStopped:                          # Ctrl-C / SIGTERM: between two requests
            break
        except psycopg.OperationalError as exc:     # database unreachable: say so, try again next pass
            print(f"ingest: database unreachable: {str(exc).strip().splitlines()[0]}", flush=True)
            if once:
                return 1
            stop.wait(interval)
            continue
        for line in report.failure_lines(offline_hint="127.0.0.1" not in settings.nws_base_url + settings.kalshi_base_url):
            print(line, flush=True)
        print(f"ingest: {report.requests} requests, {report.snapshots} new weather snapshots, {report.markets} markets, "
              f"{report.books} new books, {report.errors} errors in {time.monotonic() - started:.1f} s; cycle: {report.cycle}", flush=True)
        if once:
            return 0 if report.errors == 0 else 1
        stop.wait(interval - (time.monotonic() - started))
    say("ingest: stopped")
    return 0
