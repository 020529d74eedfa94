"""Landing ingest data in ops (as milkbot_ingest). Each write is its own small transaction, so a bad
payload never leaves half a row behind; snapshots are written only when their content changed."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg
from psycopg.types.json import Jsonb

from workers.common.wire import excerpt


@dataclass(frozen=True)
class City:
    code: str
    latitude: Decimal
    longitude: Decimal
    std_offset: timedelta
    station_icao: str
    cli_location: str
    high_series: str
    low_series: str


def load_cities(conn: psycopg.Connection) -> list[City]:
    rows = conn.execute("""select code, latitude, longitude, std_utc_offset, station_icao, cli_location,
                                  high_series, low_series from ops.cities where enabled order by code""").fetchall()
    conn.commit()
    return [City(*r) for r in rows]


def set_monthly_listing(conn, listed: dict, at) -> None:
    """What GET /series lists now, per (city, kind): (ticker, title); ops.record_monthly_listing decides
    what changes (a row listed no more is set null)."""
    payload = [{"city": c, "kind": k, "ticker": t, "title": title} for (c, k), (t, title) in listed.items()]
    with conn.transaction():
        conn.execute("select ops.record_monthly_listing(%s::jsonb, %s)", (json.dumps(payload), at))


def monthly_series_to_read(conn) -> list[tuple[str, str, str]]:
    """(city, kind, series) whose markets ingest reads (ops.monthly_series_to_read decides)."""
    rows = conn.execute("select city_code, kind, series_ticker from ops.monthly_series_to_read()").fetchall()
    conn.commit()
    return rows


def content_hash(payload) -> str:
    """Hash of the content, leaving out the fields that change on every fetch without new information."""
    def strip(obj):
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in ("generatedAt", "@id", "id") or not isinstance(v, str)}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj
    return hashlib.sha256(json.dumps(strip(payload), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def record_error(conn, source: str, url: str, status: int | None, error: str, body=None, city: str | None = None):
    with conn.transaction():
        conn.execute("""insert into ops.ingest_errors (source, url, http_status, error, excerpt, city_code)
                        values (%s, %s, %s, %s, %s, %s)""",
                     (source, url, status, error[:2000], excerpt(body), city))


def health(conn, component: str, ok: bool, message: str):
    with conn.transaction():
        conn.execute("select ops.heartbeat(%s, %s, %s)", (component, ok, message))


def health_event(conn, component: str, level: str, message: str):
    with conn.transaction():
        conn.execute("select ops.health_event(%s, %s, %s)", (component, level, message))


# -- NWS ---------------------------------------------------------------------------------------------
def cached_grid(conn, city: str):
    row = conn.execute("""select grid_id, grid_x, grid_y, forecast_url, hourly_url, grid_url, resolved_at
                            from ops.nws_grids where city_code = %s""", (city,)).fetchone()
    conn.commit()
    return row


def save_grid(conn, city: str, grid, at: datetime):
    with conn.transaction():
        conn.execute("""insert into ops.nws_grids (city_code, grid_id, grid_x, grid_y, forecast_url, hourly_url, grid_url, resolved_at)
                        values (%s, %s, %s, %s, %s, %s, %s, %s)
                        on conflict (city_code) do update set grid_id = excluded.grid_id, grid_x = excluded.grid_x,
                          grid_y = excluded.grid_y, forecast_url = excluded.forecast_url, hourly_url = excluded.hourly_url,
                          grid_url = excluded.grid_url, resolved_at = excluded.resolved_at""",
                     (city, grid.grid_id, grid.grid_x, grid.grid_y, grid.forecast_url, grid.hourly_url, grid.grid_url, at))


def confirm_unchanged(conn, source: str, entity: str, at: datetime) -> None:
    """A 304 Not Modified: the newest snapshot of this entity is still current."""
    with conn.transaction():
        conn.execute("""update ops.weather_snapshots set last_seen_at = %s
                         where id = (select id from ops.weather_snapshots where source = %s and entity = %s
                                      order by fetched_at desc limit 1)""", (at, source, entity))


def last_issued(conn, source: str, entity: str) -> datetime | None:
    row = conn.execute("""select issued_at from ops.weather_snapshots where source = %s and entity = %s
                          order by fetched_at desc limit 1""", (source, entity)).fetchone()
    conn.commit()
    return row[0] if row else None


def _unchanged(conn, table: str, key: str, source: str, entity: str, digest: str, fetched_at: datetime) -> bool:
    """True when the newest snapshot of source+entity has this content; then it is only confirmed
    (last_seen_at moves) and no row is written: tables grow with information, not with polls."""
    from psycopg import sql
    prev = conn.execute(sql.SQL("select content_hash, id from ops.{} where source = %s and {} = %s order by fetched_at desc limit 1")
                        .format(sql.Identifier(table), sql.Identifier(key)), (source, entity)).fetchone()
    if not prev or prev[0] != digest:
        return False
    conn.execute(sql.SQL("update ops.{} set last_seen_at = %s where id = %s and (last_seen_at is null or last_seen_at < %s)")
                 .format(sql.Identifier(table)), (fetched_at, prev[1], fetched_at))
    return True


def save_weather(conn, *, source: str, entity: str, city: str, fetched_at: datetime, payload,
                 issued_at=None, generated_at=None, grid=None, is_stale=False, children=None) -> int | None:
    """Insert a snapshot unless the latest one for source+entity has the same content; then run
    `children(snapshot_id)` (the parsed rows) in the same transaction. Returns the id, or None."""
    digest = content_hash(payload)
    with conn.transaction():
        if _unchanged(conn, "weather_snapshots", "entity", source, entity, digest, fetched_at):
            return None
        row = conn.execute(
            """insert into ops.weather_snapshots (source, entity, city_code, fetched_at, issued_at, generated_at,
                                                  grid_id, grid_x, grid_y, is_stale, content_hash, payload)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               on conflict (source, entity, fetched_at) do nothing returning id""",
            (source, entity, city, fetched_at, issued_at, generated_at,
             grid.grid_id if grid else None, grid.grid_x if grid else None, grid.grid_y if grid else None,
             is_stale, digest, Jsonb(payload))).fetchone()
        if row is None:
            return None   # already have a snapshot of this entity at this instant
        sid = row[0]
        if children:
            children(sid)
    return sid


def insert_forecasts(conn, sid: int, city: str, source: str, values, issued_at, fetched_at, grid, is_stale):
    with conn.cursor() as cur:
        cur.executemany(
            """insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at,
                                          fetched_at, grid_id, grid_x, grid_y, is_stale)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) on conflict do nothing""",
            [(sid, city, v.climate_date, v.kind, source, v.forecast_f, issued_at, fetched_at,
              grid.grid_id, grid.grid_x, grid.grid_y, is_stale) for v in values])


def insert_precip_forecasts(conn, sid: int, city: str, source: str, values, issued_at, fetched_at, is_stale):
    with conn.cursor() as cur:
        cur.executemany(
            """insert into ops.precip_forecasts (snapshot_id, city_code, climate_date, source, pop, qpf_in, snow_in,
                                                 hours, issued_at, fetched_at, is_stale)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) on conflict do nothing""",
            [(sid, city, v.climate_date, source, v.pop, v.qpf_in, v.snow_in, v.hours, issued_at, fetched_at, is_stale)
             for v in values])


def insert_observations(conn, sid: int, city, obs):
    from .nws import climate_date
    with conn.cursor() as cur:
        cur.executemany(
            """insert into ops.observations (station_icao, observed_at, city_code, climate_date, temp_c, temp_f, qc, snapshot_id,
                                             precision, max6h_f, min6h_f)
               values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) on conflict do nothing""",
            [(city.station_icao, o.observed_at, city.code, climate_date(o.observed_at, city.std_offset),
              o.temp_c, o.temp_f, o.qc, sid, o.precision, o.max6h_f, o.min6h_f) for o in obs])


def insert_hourly_temps(conn, sid: int, city: str, hours, fetched_at):
    with conn.cursor() as cur:
        cur.executemany(
            """insert into ops.hourly_temps (snapshot_id, city_code, valid_at, temp_f, fetched_at)
               values (%s, %s, %s, %s, %s) on conflict do nothing""",
            [(sid, city, at, f, fetched_at) for at, f in hours])


def known_products(conn, city: str) -> set[str]:
    rows = conn.execute("select distinct product_id from ops.climate_reports where city_code = %s", (city,)).fetchall()
    conn.commit()
    return {r[0] for r in rows}


def insert_climate_report(conn, city: str, report, product_id: str, issued_at, raw_text: str, fetched_at):
    p, s = report.precipitation, report.snowfall
    conn.execute("""insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, max_f,
                                                     min_f, is_correction, raw_text, fetched_at, max_estimated, min_estimated,
                                                     precip_in, precip_trace, precip_estimated, precip_mtd_in, precip_mtd_trace,
                                                     precip_mtd_normal_in, snow_in, snow_trace, snow_estimated, snow_mtd_in,
                                                     snow_mtd_trace, snow_mtd_normal_in, read_problems)
                    values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,
                            %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) on conflict do nothing""",
                 (city, report.climate_date, product_id, report.report == "final", issued_at, report.max_f,
                  report.min_f, report.is_correction, raw_text, fetched_at, report.max_estimated, report.min_estimated,
                  p.day.inches, p.day.trace, p.day.estimated, p.month_to_date.inches, p.month_to_date.trace,
                  p.month_to_date_normal.inches, s.day.inches, s.day.trace, s.day.estimated, s.month_to_date.inches,
                  s.month_to_date.trace, s.month_to_date_normal.inches, list(report.problems)))


# -- Kalshi ------------------------------------------------------------------------------------------
MARKET_COLUMNS = ("ticker", "event_ticker", "series_ticker", "city_code", "climate_date", "kind", "strike_type",
                  "floor_strike", "cap_strike", "open_time", "close_time", "expiration_time", "status", "result",
                  "price_ranges", "fee_type", "fee_multiplier", "volume", "open_interest", "rules_primary",
                  "expiration_value", "settlement_sources")
# kept when a later read lacks them (a settlement re-read has no series object; a value never un-settles)
STICKY = ("rules_primary", "expiration_value", "settlement_sources")


def upsert_market(conn, row: dict, seen_at: datetime) -> None:
    """Insert or update a market; `seen_at` (ingest's clock) stamps when an expiration_value was first seen."""
    cols = ", ".join(MARKET_COLUMNS)
    updates = ", ".join(f"{c} = coalesce(excluded.{c}, ops.markets.{c})" if c in STICKY else f"{c} = excluded.{c}"
                        for c in MARKET_COLUMNS if c != "ticker")
    changed = [c for c in MARKET_COLUMNS if c not in ("ticker", "event_ticker", "series_ticker", "city_code", "climate_date",
                                                      "kind", "strike_type", "floor_strike", "cap_strike", "open_time",
                                                      "expiration_time")]
    with conn.transaction():
        conn.execute(
            f"""insert into ops.markets ({cols}, expiration_value_at)
                values ({", ".join(["%s"] * len(MARKET_COLUMNS))}, %s)
                on conflict (ticker) do update set {updates},
                    expiration_value_at = coalesce(ops.markets.expiration_value_at, excluded.expiration_value_at),
                    updated_at = now()
                where ({", ".join(f"ops.markets.{c}" for c in changed)})
                      is distinct from ({", ".join(f"excluded.{c}" if c not in STICKY else f"coalesce(excluded.{c}, ops.markets.{c})" for c in changed)})""",
            [*(row[c] for c in MARKET_COLUMNS), seen_at if row.get("expiration_value") else None])


def save_book(conn, ticker: str, book, fetched_at: datetime, source: str = "orderbook") -> bool:
    """A REST book: SQL compares it with the newest quote of any source (the feed's too) and decides."""
    with conn.transaction():
        return conn.execute("select ops.record_rest_book(%s, %s, %s, %s, %s, %s, %s, %s)",
                            (ticker, source, fetched_at, book.yes_bid, book.yes_bid_size, book.yes_ask, book.yes_ask_size,
                             book.content_hash())).fetchone()[0]


def set_exchange_status(conn, exchange_active: bool, trading_active: bool, at: datetime):
    with conn.transaction():
        conn.execute("""insert into ops.exchange_status (exchange_active, trading_active, fetched_at) values (%s, %s, %s)
                        on conflict (singleton) do update set exchange_active = excluded.exchange_active,
                          trading_active = excluded.trading_active, fetched_at = excluded.fetched_at""",
                     (exchange_active, trading_active, at))


def open_tickers_past_close(conn, at: datetime) -> list[str]:
    rows = conn.execute("""select ticker from ops.markets where status not in ('finalized') and close_time < %s
                           order by ticker""", (at,)).fetchall()
    conn.commit()
    return [r[0] for r in rows]
