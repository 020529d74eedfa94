-- Tables the trading cycle needs: model calibration, exchange status, monthly-strategy status,
-- cancel bookkeeping on orders, and one live intent per market at most.

create table ops.model_calibration (
    city_code    text not null references ops.cities,
    kind         text not null check (kind in ('high', 'low')),
    lead_days    integer not null check (lead_days between 0 and 3),
    fitted_on    date not null,
    bias         numeric(6,3) not null check (bias between -15 and 15),
    sigma        numeric(6,3) not null check (sigma between 0.5 and 15),
    n            integer not null check (n >= 0),
    window_days  integer not null check (window_days > 0),
    is_prior     boolean not null default false,
    primary key (city_code, kind, lead_days, fitted_on)
);
comment on table ops.model_calibration is 'Forecast error model per city x kind x lead: settlement ~ forecast + bias, spread sigma (°F). Seeded with priors; re-fit from CLI finals by ops.fit_calibration.';
comment on column ops.model_calibration.city_code is 'City.';
comment on column ops.model_calibration.kind is 'high or low.';
comment on column ops.model_calibration.lead_days is 'Climate days between the forecast and the day it is for (3 means 3 or more).';
comment on column ops.model_calibration.fitted_on is 'Date of the fit (the prior rows carry 2000-01-01).';
comment on column ops.model_calibration.bias is 'Mean of (CLI final - forecast), °F.';
comment on column ops.model_calibration.sigma is 'Standard deviation of the error, °F.';
comment on column ops.model_calibration.n is 'Number of forecast/final pairs in the fit (0 for priors).';
comment on column ops.model_calibration.window_days is 'Rolling window the fit used.';
comment on column ops.model_calibration.is_prior is 'True for the seeded priors.';

-- Honest priors: NWS day-1 max/min errors are typically 2-3 °F RMS, growing with lead.
insert into ops.model_calibration (city_code, kind, lead_days, fitted_on, bias, sigma, n, window_days, is_prior)
select c.code, k.kind, l.lead, '2000-01-01', 0, l.sigma, 0, 1, true
  from ops.cities c
 cross join (values ('high'), ('low')) k(kind)
 cross join (values (0, 2.0), (1, 2.5), (2, 3.0), (3, 3.5)) l(lead, sigma);

create table ops.exchange_status (
    singleton       boolean primary key default true check (singleton),
    exchange_active boolean not null,
    trading_active  boolean not null,
    fetched_at      timestamptz not null
);
comment on table ops.exchange_status is 'Latest GET /exchange/status. No row, or an old one, means unknown: the timing gate fails closed.';
comment on column ops.exchange_status.singleton is 'Always true: one row.';
comment on column ops.exchange_status.exchange_active is 'exchange_active from Kalshi.';
comment on column ops.exchange_status.trading_active is 'trading_active from Kalshi.';
comment on column ops.exchange_status.fetched_at is 'When it was fetched.';

create table ops.monthly_series (
    city_code     text not null references ops.cities,
    kind          ops.market_kind not null check (kind in ('monthly_rain', 'monthly_snow')),
    series_ticker text check (series_ticker ~ '^KX[A-Z]+$'),
    enabled       boolean not null default false,
    reason        text not null,
    checked_at    timestamptz,
    primary key (city_code, kind),
    check (not enabled or series_ticker is not null)
);
comment on table ops.monthly_series is 'Monthly weather series per city. A city whose series is not verified with GET /series is disabled with a recorded reason, never faked.';
comment on column ops.monthly_series.city_code is 'City.';
comment on column ops.monthly_series.kind is 'monthly_rain or monthly_snow.';
comment on column ops.monthly_series.series_ticker is 'Verified Kalshi series ticker, if any.';
comment on column ops.monthly_series.enabled is 'Whether the Monthly strategy may trade it.';
comment on column ops.monthly_series.reason is 'Why it is enabled or disabled.';
comment on column ops.monthly_series.checked_at is 'When the series was last checked against Kalshi.';

insert into ops.monthly_series (city_code, kind, series_ticker, enabled, reason)
select c.code, k.kind, null, false,
       'series not verified: kalshi-api.md §5/§9 report conflicting names (e.g. KXRAINNYCM vs KXNYCRAINM) and no settlement station; no precipitation ingest yet'
  from ops.cities c cross join (values ('monthly_rain'::ops.market_kind), ('monthly_snow')) k(kind);

create table ops.monthly_climatology (
    city_code     text not null references ops.cities,
    kind          ops.market_kind not null check (kind in ('monthly_rain', 'monthly_snow')),
    month         integer not null check (month between 1 and 12),
    mean_in       numeric(6,2) not null check (mean_in >= 0),
    sd_in         numeric(6,2) not null check (sd_in >= 0),
    source        text not null,
    primary key (city_code, kind, month)
);
comment on table ops.monthly_climatology is 'Monthly precipitation climatology (inches) per city; empty until a documented source is loaded. The Monthly model refuses to price without it.';
comment on column ops.monthly_climatology.city_code is 'City.';
comment on column ops.monthly_climatology.kind is 'monthly_rain or monthly_snow.';
comment on column ops.monthly_climatology.month is 'Calendar month.';
comment on column ops.monthly_climatology.mean_in is 'Mean monthly total, inches.';
comment on column ops.monthly_climatology.sd_in is 'Standard deviation of the monthly total, inches.';
comment on column ops.monthly_climatology.source is 'Documented source of the numbers (e.g. NOAA 1991-2020 normals, station id).';

create table ops.monthly_observed (
    city_code     text not null references ops.cities,
    kind          ops.market_kind not null check (kind in ('monthly_rain', 'monthly_snow')),
    climate_date  date not null,
    amount_in     numeric(6,2) not null check (amount_in >= 0),
    primary key (city_code, kind, climate_date)
);
comment on table ops.monthly_observed is 'Daily observed precipitation/snowfall (inches) from CLI finals, for month-to-date totals.';
comment on column ops.monthly_observed.city_code is 'City.';
comment on column ops.monthly_observed.kind is 'monthly_rain or monthly_snow.';
comment on column ops.monthly_observed.climate_date is 'Climate day.';
comment on column ops.monthly_observed.amount_in is 'Amount that day, inches (trace = 0).';

alter table ops.orders add column cancel_requested_at timestamptz;
comment on column ops.orders.cancel_requested_at is 'When a cancel intent for this order was queued (set once, so a cancel is requested once).';

-- At most one live intent per market: a replacement is inserted only after the old one is marked superseded.
create unique index orders_one_live_per_market on ops.orders (ticker)
    where superseded_by is null and cancel_requested_at is null
      and state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN');

insert into ops.strategy_params (strategy, name, value, min_value, max_value, description) values
    ('DailyHigh', 'peak_hour',            15,  0, 24, 'Local standard hour after which the observed max starts to dominate.'),
    ('DailyLow',  'peak_hour',             7,  0, 24, 'Local standard hour after which the observed min starts to dominate.'),
    ('all',       'observed_ramp_hours',   3,  0.5, 12, 'Hours over which weight moves from the model to the observed extreme.'),
    ('DailyHigh', 'max_observed_weight',   1.0, 0, 1, 'Largest weight the observed max gets on the climate day.'),
    ('DailyLow',  'max_observed_weight',   0.8, 0, 1, 'Largest weight the observed min gets (a later, colder night can still set it).'),
    ('all',       'calibration_min_pairs', 10,  3, 1000, 'Fewest forecast/final pairs for a fit to replace the prior.');

create type ops.gate_verdict as (pass boolean, reason text);
comment on type ops.gate_verdict is 'What every gate function returns: pass/fail and why.';
