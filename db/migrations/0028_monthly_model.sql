-- The Monthly model's inputs (issue 27 §3): the NWS gridpoint's precipitation forecast per climate day,
-- and the prior of the compound Poisson-gamma model of a day's amount.

-- Per city and climate day, from one raw gridpoint snapshot: the probability of measurable
-- precipitation and the expected liquid amount and snowfall (inches). Only the hours of the climate day
-- the grid covers count; `hours` says how many (a day the grid covers in part is a partial forecast).
create table ops.precip_forecasts (
    snapshot_id   bigint not null references ops.weather_snapshots,
    city_code     text not null references ops.cities,
    climate_date  date not null,
    source        text not null,
    pop           numeric(4,3) check (pop between 0 and 1),
    qpf_in        numeric(6,2) check (qpf_in >= 0),
    snow_in       numeric(6,2) check (snow_in >= 0),
    hours         numeric(4,1) not null check (hours > 0 and hours <= 25),
    issued_at     timestamptz not null,
    fetched_at    timestamptz not null,
    is_stale      boolean not null default false,
    primary key (city_code, climate_date, source, fetched_at)
);
create index precip_forecasts_snapshot_idx on ops.precip_forecasts (snapshot_id);
comment on table ops.precip_forecasts is 'NWS gridpoint precipitation forecast per city and climate day (LST): probability of precipitation, QPF and snowfall, inches.';
comment on column ops.precip_forecasts.snapshot_id is 'The raw gridpoint snapshot it was read from.';
comment on column ops.precip_forecasts.city_code is 'City.';
comment on column ops.precip_forecasts.climate_date is 'Climate day (local standard time, midnight to midnight).';
comment on column ops.precip_forecasts.source is 'Forecast product (gridpoint).';
comment on column ops.precip_forecasts.pop is 'Probability of measurable precipitation during the day: the highest of the probabilityOfPrecipitation intervals overlapping it (a lower bound on the day''s chance; null = not forecast).';
comment on column ops.precip_forecasts.qpf_in is 'quantitativePrecipitation over the day''s hours, inches (intervals split by overlap; null = not forecast).';
comment on column ops.precip_forecasts.snow_in is 'snowfallAmount over the day''s hours, inches (null = not forecast).';
comment on column ops.precip_forecasts.hours is 'Hours of the climate day the QPF intervals cover.';
comment on column ops.precip_forecasts.issued_at is 'Gridpoint updateTime.';
comment on column ops.precip_forecasts.fetched_at is 'When it was fetched.';
comment on column ops.precip_forecasts.is_stale is 'The snapshot was stale when fetched (not used by the model).';

-- The compound Poisson-gamma prior per kind: a climatological day is wet with probability wet_day_prob
-- and a wet day's amount is gamma with shape wet_shape (its mean follows the normal). A city-month's
-- own count of wet days (ops.monthly_climatology.wet_days) overrides wet_day_prob.
create table ops.monthly_prior (
    kind          ops.market_kind primary key check (kind in ('monthly_rain', 'monthly_snow')),
    wet_day_prob  numeric(4,3) not null check (wet_day_prob > 0 and wet_day_prob <= 1),
    wet_shape     numeric(5,3) not null check (wet_shape > 0),
    step_in       numeric(4,2) not null check (step_in > 0),
    source        text not null
);
comment on table ops.monthly_prior is 'Prior of the Monthly model per kind: wet-day probability, gamma shape of a wet day''s amount, the bulletin''s resolution; with where the numbers come from.';
comment on column ops.monthly_prior.kind is 'monthly_rain or monthly_snow.';
comment on column ops.monthly_prior.wet_day_prob is 'Chance a climatological day has a measurable amount (overridden per city-month by monthly_climatology.wet_days).';
comment on column ops.monthly_prior.wet_shape is 'Gamma shape of a wet day''s amount (coefficient of variation 1/sqrt(shape)).';
comment on column ops.monthly_prior.step_in is 'Resolution of the CLI amount (0.01 in rain, 0.1 in snow): thresholds are compared half a step away.';
comment on column ops.monthly_prior.source is 'Where the numbers come from.';
insert into ops.monthly_prior values
    ('monthly_rain', 0.300, 0.750, 0.01,
     'seeded prior, not fitted: about 110 days a year with >= 0.01 in across US stations (NOAA 1991-2020 normals: LAX ~35, NYC ~120, SEA ~150); daily wet-day amounts gamma with shape 0.6-0.9 in the literature (Wilks 1999, Husak et al. 2007)'),
    ('monthly_snow', 0.150, 0.600, 0.1,
     'seeded prior, not fitted: snowfall days are rarer and more skewed than rain days; used only where the normal is above zero');

alter table ops.monthly_climatology
    alter column sd_in drop not null,
    add column wet_days numeric(4,1) check (wet_days >= 0 and wet_days <= 31);
comment on column ops.monthly_climatology.sd_in is 'Standard deviation of the monthly total, inches (informational: the compound model derives its spread).';
comment on column ops.monthly_climatology.wet_days is 'Mean number of days in the month with a measurable amount (overrides the prior''s wet-day probability).';
comment on table ops.monthly_climatology is 'Monthly precipitation/snowfall normals (inches) per city with their source. Optional: without it the Monthly model extrapolates the CLI''s own normal to date.';

drop function if exists ops.monthly_probability(numeric, numeric, numeric, integer, integer, numeric, numeric);
