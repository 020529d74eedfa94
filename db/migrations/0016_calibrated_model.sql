-- The temperature model, calibrated on what was known when (issue 14).
--  * model_calibration is versioned by the time a fit became known (known_at), not by a date: a replay
--    at an earlier as-of never sees a later fit. Fits carry their error distribution (normal or
--    Student-t), the weight of data behind them and their recent score.
--  * forecast_pairs: the forecast the model held at each decision point (00:00 local standard time of
--    the day, `lead` days ahead), frozen once that time has passed: calibration pairs it with the truth.
--  * hourly_temps: the hourly forecast, hour by hour, for the same-day "rest of the day" model.
--  * observations keep the METAR's tenths and 6-hourly extremes; markets keep their settlement rules.

-- ---------------------------------------------------------------------------------------------------
alter table ops.model_calibration add column known_at timestamptz;
update ops.model_calibration set known_at = fitted_on::timestamp at time zone 'UTC';
alter table ops.model_calibration alter column known_at set not null;
alter table ops.model_calibration drop constraint model_calibration_pkey;
alter table ops.model_calibration drop column fitted_on;
alter table ops.model_calibration add primary key (city_code, kind, lead_days, known_at);
alter table ops.model_calibration add column dist text not null default 'normal' check (dist in ('normal', 'student_t'));
alter table ops.model_calibration add column df integer check (df is null or df between 3 and 100);
alter table ops.model_calibration add column n_effective numeric(8,3) not null default 0 check (n_effective >= 0);
alter table ops.model_calibration add column prior_weight numeric(8,3) not null default 0 check (prior_weight >= 0);
alter table ops.model_calibration add column mean_age_h numeric(6,2);
alter table ops.model_calibration add column crps_recent numeric(6,3);
alter table ops.model_calibration add constraint model_calibration_df_dist check ((dist = 'student_t') = (df is not null));
comment on table ops.model_calibration is 'Forecast error model per city x kind x lead, one row per fit, versioned by known_at: settlement ~ forecast + bias + sigma * e, e normal or Student-t (unit variance). The seeded priors carry known_at 2000-01-01.';
comment on column ops.model_calibration.known_at is 'When this fit became known (the as-of it was fitted at); the model uses the newest fit known at its decision time.';
comment on column ops.model_calibration.bias is 'Weighted mean of (truth - forecast), shrunk toward the pooled (all-city) value, °F.';
comment on column ops.model_calibration.sigma is 'Standard deviation of the error (shrunk like bias), °F. For Student-t this is the sd, not the scale.';
comment on column ops.model_calibration.n is 'Pairs of this cell in the window (0 for priors and for cells that take the pooled fit alone).';
comment on column ops.model_calibration.dist is 'Error distribution: normal, or student_t with df degrees of freedom (fatter tails).';
comment on column ops.model_calibration.df is 'Student-t degrees of freedom (null for normal).';
comment on column ops.model_calibration.n_effective is 'Sum of the recency weights of this cell''s pairs.';
comment on column ops.model_calibration.prior_weight is 'Pseudo-pairs of the pooled prior the cell was shrunk toward.';
comment on column ops.model_calibration.mean_age_h is 'Mean age (hours) of the pairs'' forecasts at their decision times: older forecasts at decision time widen sigma beyond it.';
comment on column ops.model_calibration.crps_recent is 'Mean CRPS (°F) of the cell''s last 30 days of pairs under this fit, on the whole-degree ladder (in-sample).';
comment on column ops.model_calibration.window_days is 'Rolling window of truths the fit used.';
comment on column ops.model_calibration.is_prior is 'True for the seeded priors.';

create table ops.forecast_pairs (
    city_code     text not null references ops.cities,
    kind          text not null check (kind in ('high', 'low')),
    climate_date  date not null,
    lead_days     integer not null check (lead_days between 0 and 3),
    decided_at    timestamptz not null,
    source        ops.forecast_source not null,
    forecast_f    numeric(6,2) not null,
    forecast_at   timestamptz not null check (forecast_at <= decided_at),
    primary key (city_code, kind, climate_date, lead_days)
);
comment on table ops.forecast_pairs is 'The forecast the model held at each decision point: 00:00 local standard time of (climate_date - lead_days). Written once that time has passed, from forecasts fetched before it (so it never changes), by ops.fit_calibration.';
comment on column ops.forecast_pairs.city_code is 'City.';
comment on column ops.forecast_pairs.kind is 'high or low.';
comment on column ops.forecast_pairs.climate_date is 'Day the forecast is for.';
comment on column ops.forecast_pairs.lead_days is 'Days between the decision point and that day.';
comment on column ops.forecast_pairs.decided_at is 'The decision point (UTC).';
comment on column ops.forecast_pairs.source is 'Forecast product (the city''s chosen source at that time).';
comment on column ops.forecast_pairs.forecast_f is 'The forecast, °F.';
comment on column ops.forecast_pairs.forecast_at is 'When that forecast was fetched (its age at decision = decided_at - forecast_at).';

create table ops.calibration_runs (
    at     timestamptz primary key,
    cells  integer not null check (cells >= 0)
);
comment on table ops.calibration_runs is 'Every calibration fit attempt, by as-of: a re-fit is due only when a truth became known after the last attempt (a fit with too few pairs is not retried every cycle).';
comment on column ops.calibration_runs.at is 'The as-of the fit ran at.';
comment on column ops.calibration_runs.cells is 'Cells it wrote (0: too few pairs, the previous fit or prior stays).';

create table ops.hourly_temps (
    snapshot_id  bigint not null references ops.weather_snapshots on delete cascade,
    city_code    text not null references ops.cities,
    valid_at     timestamptz not null,
    temp_f       numeric(6,2) not null check (temp_f between -80 and 140),
    fetched_at   timestamptz not null,
    primary key (snapshot_id, valid_at)
);
create index hourly_temps_city_idx on ops.hourly_temps (city_code, fetched_at desc);
comment on table ops.hourly_temps is 'The NWS hourly forecast hour by hour (°F): what the same-day model takes for the rest of the day.';
comment on column ops.hourly_temps.snapshot_id is 'Hourly-forecast snapshot it was parsed from.';
comment on column ops.hourly_temps.city_code is 'City.';
comment on column ops.hourly_temps.valid_at is 'Start of the hour (UTC).';
comment on column ops.hourly_temps.temp_f is 'Forecast temperature, °F.';
comment on column ops.hourly_temps.fetched_at is 'When the forecast was fetched.';

-- ---------------------------------------------------------------------------------------------------
alter table ops.observations add column max6h_f numeric(6,2) check (max6h_f between -94 and 140);
alter table ops.observations add column min6h_f numeric(6,2) check (min6h_f between -94 and 140);
alter table ops.observations add column precision text not null default 'whole' check (precision in ('tenths', 'whole'));
comment on column ops.observations.max6h_f is 'METAR 6-hourly maximum (1snTTT group, tenths °C -> °F) ending at observed_at, when reported.';
comment on column ops.observations.min6h_f is 'METAR 6-hourly minimum (2snTTT group), when reported.';
comment on column ops.observations.precision is 'tenths: temp from the METAR T-group (0.1 °C); whole: from the JSON value (often rounded to whole °C).';

alter table ops.markets add column rules_primary text;
alter table ops.markets add column settlement_sources jsonb check (settlement_sources is null or jsonb_typeof(settlement_sources) = 'array');
alter table ops.markets add column expiration_value text;
alter table ops.markets add column expiration_value_at timestamptz;
comment on column ops.markets.rules_primary is 'Kalshi rules_primary: what the market settles on, in Kalshi''s words.';
comment on column ops.markets.settlement_sources is 'The series'' settlement_sources [{name, url}] (e.g. The Weather Company).';
comment on column ops.markets.expiration_value is 'Kalshi expiration_value: the value the market settled on (°F for temperature markets); empty until settled.';
comment on column ops.markets.expiration_value_at is 'When ingest first saw expiration_value (the time it became known).';

create table ops.series_rules (
    series_ticker  text primary key,
    rules_template text not null,
    seen_at        timestamptz not null
);
comment on table ops.series_rules is 'The last rules_primary seen per series, with the market''s own strike and date masked: a change of wording raises a risk event.';
comment on column ops.series_rules.series_ticker is 'Series.';
comment on column ops.series_rules.rules_template is 'rules_primary with numbers and dates replaced by placeholders.';
comment on column ops.series_rules.seen_at is 'When this wording was first seen.';

alter table ops.risk_events drop constraint risk_events_kind_check;
alter table ops.risk_events add constraint risk_events_kind_check check (kind in (
    'daily_loss_breaker', 'error_rate_breaker', 'limit_capped', 'position_mismatch', 'stale_data',
    'kill_switch', 'exchange_inactive', 'strategy_disabled', 'unknown_market_fill', 'order_resized',
    'order_adopted', 'foreign_order', 'absent_presumed', 'order_mismatch',
    'settlement_disagreement', 'settlement_rules_changed', 'other'));

-- ---------------------------------------------------------------------------------------------------
-- The same-day model replaces the peak-hour ramp: the final extreme is max(observed, rest of the day).
delete from ops.strategy_params where name in ('peak_hour', 'observed_ramp_hours', 'max_observed_weight');
update ops.strategy_params set value = 120, description = 'Calibration: truths of this many days before the decision enter the fit.'
 where strategy = 'all' and name = 'calibration_window_days';
update ops.strategy_params set description = 'Calibration: fewest pairs (all cities) for a pooled fit to replace the seeded prior.'
 where strategy = 'all' and name = 'calibration_min_pairs';
insert into ops.strategy_params (strategy, name, value, min_value, max_value, description) values
    ('all', 'calibration_half_life_days', 30, 3, 3650, 'Calibration: a pair''s weight halves every this many days of age (recent errors count more).'),
    ('all', 'calibration_prior_pairs',    10, 0, 1000, 'Calibration: a city''s fit is shrunk toward the pooled fit as if the pooled fit were this many pairs.'),
    ('all', 'model_t_df',                  5, 0, 100,  'Model: Student-t degrees of freedom for the forecast error (0 = normal). The backtest compares them.'),
    ('all', 'forecast_age_var_per_day',    2, 0, 50,   'Model: error variance (°F²) added per day a forecast is older at decision time than the calibration pairs were.'),
    ('all', 'max_observation_age_min',    90, 5, 1440, 'Same-day model: the newest observation must be younger than this to count (minutes).'),
    ('all', 'min_sigma_f',               0.5, 0.1, 5,  'Model: floor on the error sd, °F (the rest of a day is never certain to the degree).');

-- Functions whose signatures change are re-created by the repeatable definitions.
drop function if exists ops.effective_params();
drop function if exists ops.bracket_probability(double precision, double precision, numeric, numeric, text, numeric, double precision);

-- the cycle picks one forecast source per city: find each source's newest forecast quickly
create index forecasts_city_source_idx on ops.forecasts (city_code, source, fetched_at desc);
-- calibration looks for decision points that had any forecast in the 36 hours before them
create index forecasts_city_fetched_idx on ops.forecasts (city_code, fetched_at);

-- the seeded priors stand for a forecast of ordinary freshness (half a day): only a forecast older than
-- that at decision time widens them
update ops.model_calibration set mean_age_h = 12 where is_prior;
