-- Markets and the snapshots ingest lands: Kalshi quotes and NWS weather, each keyed by
-- source + entity + fetch time, deduplicated by content hash (a poll that changed nothing writes nothing).

create type ops.market_kind as enum ('high', 'low', 'monthly_rain', 'monthly_snow');
comment on type ops.market_kind is 'What a market settles on: daily high/low temperature, or a monthly precipitation total.';

create table ops.markets (
    ticker          text primary key check (ticker ~ '^[A-Z0-9]+-[A-Z0-9]+-[A-Z0-9.]+$'),
    event_ticker    text not null check (ticker like event_ticker || '-%'),
    series_ticker   text not null check (event_ticker like series_ticker || '-%'),
    city_code       text not null references ops.cities,
    climate_date    date not null,
    kind            ops.market_kind not null,
    strike_type     text not null check (strike_type in ('greater', 'greater_or_equal', 'less', 'less_or_equal', 'between', 'functional', 'custom', 'structured')),
    floor_strike    numeric,
    cap_strike      numeric,
    open_time       timestamptz not null,
    close_time      timestamptz not null check (close_time > open_time),
    expiration_time timestamptz,
    status          text not null check (status in ('initialized', 'inactive', 'active', 'closed', 'determined', 'disputed', 'amended', 'finalized')),
    result          text not null default '' check (result in ('', 'yes', 'no', 'scalar')),
    price_ranges    jsonb not null default '[{"start": "0.0000", "end": "1.0000", "step": "0.0100"}]'
                    check (jsonb_typeof(price_ranges) = 'array' and jsonb_array_length(price_ranges) > 0),
    fee_type        text not null default 'quadratic' check (fee_type in ('quadratic', 'quadratic_with_maker_fees', 'quadratic_with_combo_maker_fees', 'flat')),
    fee_multiplier  numeric not null default 1 check (fee_multiplier >= 0),
    volume          numeric check (volume >= 0),
    open_interest   numeric check (open_interest >= 0),
    first_seen_at   timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    check (strike_type <> 'between' or (floor_strike is not null and cap_strike is not null and floor_strike <= cap_strike)),
    check (strike_type not in ('greater', 'greater_or_equal') or floor_strike is not null),
    check (strike_type not in ('less', 'less_or_equal') or cap_strike is not null),
    check (result = '' or status in ('determined', 'finalized', 'amended', 'disputed'))
);
create index markets_event_idx on ops.markets (event_ticker);
create index markets_open_idx on ops.markets (close_time) where status = 'active';
create index markets_city_day_idx on ops.markets (city_code, climate_date, kind);
comment on table ops.markets is 'Kalshi markets Milkbot follows, upserted by ingest from GET /markets.';
comment on column ops.markets.ticker is 'Market ticker, e.g. KXHIGHNY-26SEP23-B69.5.';
comment on column ops.markets.event_ticker is 'Event (ladder) ticker, e.g. KXHIGHNY-26SEP23; one bracket per event wins.';
comment on column ops.markets.series_ticker is 'Series ticker, e.g. KXHIGHNY.';
comment on column ops.markets.city_code is 'City whose station settles the market.';
comment on column ops.markets.climate_date is 'Climate day (local standard time) the market settles on; first of month for monthly markets.';
comment on column ops.markets.kind is 'high, low, monthly_rain or monthly_snow.';
comment on column ops.markets.strike_type is 'Kalshi strike_type; with floor/cap it defines which settlement values are YES.';
comment on column ops.markets.floor_strike is 'Kalshi floor_strike (between: inclusive low; greater: strict bound).';
comment on column ops.markets.cap_strike is 'Kalshi cap_strike (between: inclusive high; less: strict bound).';
comment on column ops.markets.open_time is 'When trading opens.';
comment on column ops.markets.close_time is 'Last trade time.';
comment on column ops.markets.expiration_time is 'Expected expiration (settlement) time.';
comment on column ops.markets.status is 'Kalshi market status; finalized means settled.';
comment on column ops.markets.result is 'Settlement result: yes, no, scalar, or empty while unsettled.';
comment on column ops.markets.price_ranges is 'Kalshi price_ranges [{start,end,step}] as dollar strings: the authoritative price grid.';
comment on column ops.markets.fee_type is 'Series fee_type (event override applied).';
comment on column ops.markets.fee_multiplier is 'Series fee_multiplier (event override applied).';
comment on column ops.markets.volume is 'Contracts traded (volume_fp), at last ingest.';
comment on column ops.markets.open_interest is 'Open interest (open_interest_fp), at last ingest.';
comment on column ops.markets.first_seen_at is 'When ingest first saw the market.';
comment on column ops.markets.updated_at is 'When ingest last changed the row.';

create table ops.market_snapshots (
    id            bigint generated always as identity primary key,
    source        text not null check (source in ('orderbook', 'market', 'paper', 'test')),
    ticker        text not null references ops.markets,
    fetched_at    timestamptz not null,
    yes_bid       numeric(6,4) check (yes_bid between 0 and 1),
    yes_bid_size  numeric(14,2) check (yes_bid_size >= 0),
    yes_ask       numeric(6,4) check (yes_ask between 0 and 1),
    yes_ask_size  numeric(14,2) check (yes_ask_size >= 0),
    content_hash  text not null check (content_hash ~ '^[0-9a-f]{64}$'),
    unique (source, ticker, fetched_at),
    -- a side is either fully quoted or fully absent: never a price without a size
    check ((yes_bid is null) = (yes_bid_size is null)),
    check ((yes_ask is null) = (yes_ask_size is null)),
    check (yes_bid is null or yes_ask is null or yes_bid <= yes_ask)
);
create index market_snapshots_latest_idx on ops.market_snapshots (ticker, fetched_at desc);
comment on table ops.market_snapshots is 'Best YES bid/ask with sizes per fetch (YES ask = 1 - best NO bid). Null side = no quote, never 0 or 1. Written only when the book changed.';
comment on column ops.market_snapshots.id is 'Surrogate key.';
comment on column ops.market_snapshots.source is 'orderbook (GET /markets/{t}/orderbook or batch), market (GET /markets), paper/test.';
comment on column ops.market_snapshots.ticker is 'Market.';
comment on column ops.market_snapshots.fetched_at is 'When the quote was fetched (UTC).';
comment on column ops.market_snapshots.yes_bid is 'Best YES bid (dollars); null when no YES bids.';
comment on column ops.market_snapshots.yes_bid_size is 'Contracts at the best YES bid.';
comment on column ops.market_snapshots.yes_ask is 'Best YES ask = 1 - best NO bid (dollars); null when no NO bids.';
comment on column ops.market_snapshots.yes_ask_size is 'Contracts at the best YES ask (= size of the best NO bid).';
comment on column ops.market_snapshots.content_hash is 'SHA-256 of the normalised book; equal to the previous row''s hash means unchanged (not stored).';

create type ops.weather_source as enum ('nws_points', 'nws_gridpoint', 'nws_forecast', 'nws_hourly', 'nws_observations', 'nws_cli');
comment on type ops.weather_source is 'Which NWS endpoint a weather snapshot came from.';

create table ops.weather_snapshots (
    id            bigint generated always as identity primary key,
    source        ops.weather_source not null,
    entity        text not null check (length(entity) between 1 and 500),
    city_code     text not null references ops.cities,
    fetched_at    timestamptz not null,
    issued_at     timestamptz,
    generated_at  timestamptz,
    grid_id       text check (grid_id ~ '^[A-Z]{3}$'),
    grid_x        integer check (grid_x >= 0),
    grid_y        integer check (grid_y >= 0),
    is_stale      boolean not null default false,
    content_hash  text not null check (content_hash ~ '^[0-9a-f]{64}$'),
    payload       jsonb not null,
    unique (source, entity, fetched_at),
    check ((grid_id is null) = (grid_x is null) and (grid_x is null) = (grid_y is null))
);
create index weather_snapshots_latest_idx on ops.weather_snapshots (source, entity, fetched_at desc);
create index weather_snapshots_city_idx on ops.weather_snapshots (city_code, source, fetched_at desc);
comment on table ops.weather_snapshots is 'Raw NWS payloads as fetched, one row per change of content (hash), with the grid they came from.';
comment on column ops.weather_snapshots.id is 'Surrogate key; parsed rows point back to it.';
comment on column ops.weather_snapshots.source is 'NWS endpoint kind.';
comment on column ops.weather_snapshots.entity is 'What was fetched: grid (OKX/34,45), station id, or CLI product id.';
comment on column ops.weather_snapshots.city_code is 'City the fetch was for.';
comment on column ops.weather_snapshots.fetched_at is 'When it was fetched (UTC).';
comment on column ops.weather_snapshots.issued_at is 'NWS updateTime (grid issuance) or product issuanceTime.';
comment on column ops.weather_snapshots.generated_at is 'NWS generatedAt, when present.';
comment on column ops.weather_snapshots.grid_id is 'WFO grid id of the forecast, if any.';
comment on column ops.weather_snapshots.grid_x is 'Grid x.';
comment on column ops.weather_snapshots.grid_y is 'Grid y.';
comment on column ops.weather_snapshots.is_stale is 'True when updateTime/generatedAt was older than the staleness limit at fetch time.';
comment on column ops.weather_snapshots.content_hash is 'SHA-256 of the payload content; a poll with an equal hash writes no row.';
comment on column ops.weather_snapshots.payload is 'The JSON reply (or, for CLI, the /products/{id} reply with productText).';

create type ops.forecast_source as enum ('gridpoint', 'forecast_12h', 'hourly');
comment on type ops.forecast_source is 'Which NWS forecast product a value came from.';

create table ops.forecasts (
    snapshot_id   bigint not null references ops.weather_snapshots on delete cascade,
    city_code     text not null references ops.cities,
    climate_date  date not null,
    kind          text not null check (kind in ('high', 'low')),
    source        ops.forecast_source not null,
    forecast_f    numeric(6,2) not null check (forecast_f between -80 and 140),
    issued_at     timestamptz not null,
    fetched_at    timestamptz not null,
    grid_id       text not null,
    grid_x        integer not null,
    grid_y        integer not null,
    is_stale      boolean not null default false,
    primary key (snapshot_id, climate_date, kind)
);
create index forecasts_latest_idx on ops.forecasts (city_code, climate_date, kind, fetched_at desc);
comment on table ops.forecasts is 'Forecast daily high/low per city climate day (local standard time), parsed from a weather snapshot.';
comment on column ops.forecasts.snapshot_id is 'Weather snapshot it was parsed from.';
comment on column ops.forecasts.city_code is 'City.';
comment on column ops.forecasts.climate_date is 'Climate day in local standard time.';
comment on column ops.forecasts.kind is 'high or low.';
comment on column ops.forecasts.source is 'gridpoint (max/minTemperature), forecast_12h or hourly.';
comment on column ops.forecasts.forecast_f is 'Forecast in °F (exact conversion from °C, 2 dp).';
comment on column ops.forecasts.issued_at is 'NWS updateTime of the forecast.';
comment on column ops.forecasts.fetched_at is 'When it was fetched.';
comment on column ops.forecasts.grid_id is 'WFO grid id.';
comment on column ops.forecasts.grid_x is 'Grid x.';
comment on column ops.forecasts.grid_y is 'Grid y.';
comment on column ops.forecasts.is_stale is 'Forecast was stale when fetched.';

create table ops.observations (
    station_icao  text not null,
    observed_at   timestamptz not null,
    city_code     text not null references ops.cities,
    climate_date  date not null,
    temp_c        numeric(5,2) not null check (temp_c between -70 and 60),
    temp_f        numeric(6,2) not null check (temp_f between -94 and 140),
    qc            text,
    snapshot_id   bigint references ops.weather_snapshots on delete set null,
    primary key (station_icao, observed_at)
);
create index observations_city_day_idx on ops.observations (city_code, climate_date);
comment on table ops.observations is 'Station temperature observations (nulls and failed QC are not stored).';
comment on column ops.observations.station_icao is 'Station ICAO.';
comment on column ops.observations.observed_at is 'Observation timestamp (UTC).';
comment on column ops.observations.city_code is 'City of the station.';
comment on column ops.observations.climate_date is 'Climate day (local standard time) of the observation.';
comment on column ops.observations.temp_c is 'Temperature °C as reported.';
comment on column ops.observations.temp_f is 'Temperature °F (exact conversion).';
comment on column ops.observations.qc is 'MADIS qualityControl code.';
comment on column ops.observations.snapshot_id is 'Snapshot it was parsed from.';

create table ops.climate_reports (
    city_code     text not null references ops.cities,
    climate_date  date not null,
    product_id    text not null,
    is_final      boolean not null,
    issued_at     timestamptz not null,
    max_f         integer check (max_f between -80 and 140),
    min_f         integer check (min_f between -80 and 140),
    is_correction boolean not null default false,
    raw_text      text not null,
    fetched_at    timestamptz not null default now(),
    primary key (city_code, climate_date, product_id)
);
comment on table ops.climate_reports is 'NWS Daily Climate Reports (CLI): the settlement source. Raw text kept.';
comment on column ops.climate_reports.city_code is 'City.';
comment on column ops.climate_reports.climate_date is 'Climate day the report covers.';
comment on column ops.climate_reports.product_id is 'NWS product id (/products/{id}).';
comment on column ops.climate_reports.is_final is 'True for the report on YESTERDAY (final), false for TODAY (preliminary).';
comment on column ops.climate_reports.issued_at is 'Product issuanceTime.';
comment on column ops.climate_reports.max_f is 'Observed maximum °F; null when the bulletin says MM.';
comment on column ops.climate_reports.min_f is 'Observed minimum °F; null when the bulletin says MM.';
comment on column ops.climate_reports.is_correction is 'Headline said CORRECTION.';
comment on column ops.climate_reports.raw_text is 'The bulletin text as issued.';
comment on column ops.climate_reports.fetched_at is 'When it was fetched.';

create table ops.nws_grids (
    city_code      text primary key references ops.cities,
    grid_id        text not null check (grid_id ~ '^[A-Z]{3}$'),
    grid_x         integer not null check (grid_x >= 0),
    grid_y         integer not null check (grid_y >= 0),
    forecast_url   text not null,
    hourly_url     text not null,
    grid_url       text not null,
    resolved_at    timestamptz not null
);
comment on table ops.nws_grids is 'Cached /points resolution per city; re-resolved daily and on a 404 from a grid URL.';
comment on column ops.nws_grids.city_code is 'City.';
comment on column ops.nws_grids.grid_id is 'WFO grid id.';
comment on column ops.nws_grids.grid_x is 'Grid x.';
comment on column ops.nws_grids.grid_y is 'Grid y.';
comment on column ops.nws_grids.forecast_url is '12-hour forecast URL.';
comment on column ops.nws_grids.hourly_url is 'Hourly forecast URL.';
comment on column ops.nws_grids.grid_url is 'Raw gridpoint URL.';
comment on column ops.nws_grids.resolved_at is 'When /points was last resolved.';

create table ops.ingest_errors (
    id          bigint generated always as identity primary key,
    at          timestamptz not null default now(),
    source      text not null check (source in ('nws', 'kalshi')),
    url         text not null,
    http_status integer check (http_status between 100 and 599),
    error       text not null,
    excerpt     text check (length(excerpt) <= 2000),
    city_code   text references ops.cities
);
create index ingest_errors_at_idx on ops.ingest_errors (at desc);
comment on table ops.ingest_errors is 'Every payload that failed validation or fetch: recorded and skipped, never half-written.';
comment on column ops.ingest_errors.id is 'Surrogate key.';
comment on column ops.ingest_errors.at is 'When.';
comment on column ops.ingest_errors.source is 'nws or kalshi.';
comment on column ops.ingest_errors.url is 'Request URL (no credentials ever appear in URLs).';
comment on column ops.ingest_errors.http_status is 'HTTP status, null for timeouts and dropped connections.';
comment on column ops.ingest_errors.error is 'What was wrong.';
comment on column ops.ingest_errors.excerpt is 'Bounded excerpt of the body (<= 2000 chars).';
comment on column ops.ingest_errors.city_code is 'City concerned, if known.';
