-- What the temperature model knows at a decision time, per city x climate day x kind. Both the live
-- cycle (ops.evaluate_markets) and the backtest (ops.replay_day_ahead) price from this one function.

-- One forecast source per city and cycle, never mixed silently: the first source, in the order
-- forecast_12h (the product the history calibrates), gridpoint, hourly, that has a fresh forecast for the
-- city; when none is fresh, the source with the newest forecast (the staleness gate then speaks).
-- Per day and kind: that source's newest non-stale forecast fetched by p_as_of, unless it is too old and
-- another source has a fresh one for that day and kind: fresh beats stale.
create or replace function ops.forecasts_at(p_as_of timestamptz, p_city text default null, p_known_at timestamptz default 'infinity',
                                            p_cities text[] default null)
returns table (city_code text, climate_date date, kind text, source ops.forecast_source, forecast_f numeric,
               fetched_at timestamptz, city_source ops.forecast_source)
language plpgsql stable
set search_path = pg_catalog, ops
as $fn$
#variable_conflict use_column
begin
return query
with max_age as materialized (   -- once: a function scan as the inner side of a join would run per row
    select make_interval(mins => sp.value::int) as age from ops.control_at(null::ops.strategy_params, p_known_at) sp
     where sp.strategy = 'all' and sp.name = 'max_weather_age_min'
),
newest as (
    select c.code as city_code, s.source, n.at
      from ops.control_at(null::ops.cities, p_known_at) c
     cross join unnest(enum_range(null::ops.forecast_source)) s(source)
     cross join lateral (
            -- fresh as of the last fetch that confirmed the same content (bounded by the decision time)
            select greatest(fc.fetched_at, case when ws.last_seen_at is not null then least(ws.last_seen_at, p_as_of) end) as at
              from ops.forecasts fc join ops.weather_snapshots ws on ws.id = fc.snapshot_id
             where fc.city_code = c.code and fc.source = s.source and fc.fetched_at <= p_as_of and not fc.is_stale
             order by fc.fetched_at desc limit 1) n
     where c.enabled and (p_city is null or c.code = p_city) and (p_cities is null or c.code = any (p_cities))
),
chosen as (
    select distinct on (n.city_code) n.city_code, n.source
      from (select n0.*, max(n0.at) over (partition by n0.city_code) as city_newest from newest n0) n cross join max_age m
     -- fresh ones in the order of preference; when none is fresh, the order of preference among the
     -- products as current as the newest one (fetched within the freshness limit of it): a product that
     -- stopped coming is not kept over one still arriving, late (the order alone once did that)
     order by n.city_code, n.at > p_as_of - m.age desc, n.at > n.city_newest - m.age desc,
              array_position(array['forecast_12h', 'gridpoint', 'hourly']::ops.forecast_source[], n.source),
              n.at desc
)
select distinct on (fc.city_code, fc.climate_date, fc.kind)
       fc.city_code, fc.climate_date, fc.kind, fc.source, fc.forecast_f,
       greatest(fc.fetched_at, case when ws.last_seen_at is not null then least(ws.last_seen_at, p_as_of) end),
       ch.source
  from chosen ch
 cross join max_age m
  join ops.cities c on c.code = ch.city_code
  join ops.forecasts fc on fc.city_code = ch.city_code
  join ops.weather_snapshots ws on ws.id = fc.snapshot_id
 where fc.fetched_at <= p_as_of and not fc.is_stale
   and fc.climate_date >= ops.climate_date(p_as_of, c.std_utc_offset)
   -- a day or kind the city's source does not cover (the 12-hour product drops this morning's low once
   -- the night has passed) falls back to a fresh forecast of the next source, and says so (source <> city_source)
   and (fc.source = ch.source
        or greatest(fc.fetched_at, case when ws.last_seen_at is not null then least(ws.last_seen_at, p_as_of) end) > p_as_of - m.age)
   -- fresh beats stale whatever the source: the city's source first among fresh rows, and a stale row of it
   -- only when no source has a fresh one for that day and kind (then the staleness gate speaks)
 order by fc.city_code, fc.climate_date, fc.kind,
          greatest(fc.fetched_at, case when ws.last_seen_at is not null then least(ws.last_seen_at, p_as_of) end) > p_as_of - m.age desc,
          fc.source = ch.source desc,
          array_position(array['forecast_12h', 'gridpoint', 'hourly']::ops.forecast_source[], fc.source), fc.fetched_at desc;
end
$fn$;
comment on function ops.forecasts_at(timestamptz, text, timestamptz, text[]) is 'Per city (p_city, or the cities in p_cities; null: every one) x day x kind from today on: the newest forecast of the city''s one chosen source (forecast_12h, gridpoint, hourly; fresh first) known at p_as_of.';

-- The model at p_as_of: settlement = mu + error, error with sd `sigma` (normal, or Student-t `df`).
--  * bias and sigma: the newest calibration KNOWN at p_as_of for the city x kind x lead;
--  * a forecast older at decision time than the calibration's pairs were adds forecast_age_var_per_day
--    of variance per day of extra age (staleness widens sigma smoothly instead of an on/off rule);
--  * on the climate day itself (lead 0) with a fresh observation: the day's extreme is
--    max(observed so far, rest of the day), the rest of the day being the hourly forecast's extreme
--    over the hours still to come, with the bias and the variance scaled by the share of the day left.
--    A stale or missing observation gets no weight at all, and the note says why.
--  * the quantity that settles is the extreme of the whole climate day, midnight to midnight in local
--    standard time (issue 24 §1), while the 12-hour product's high covers the daytime (about 06-18) and
--    its low the night that ends in the morning: on a day whose extreme is at night (a warm night before a
--    cold front, a cold evening after one) the period misses it. Where the hourly forecast covers the whole
--    climate day (lead >= 1: ingest stores its full-day max/min as source 'hourly'), the day's forecast is
--    the period's high or the hourly's whole-day max, whichever is higher (the low: the lower), fresh
--    hourly only; the note says when the hourly's night decided it. (The day itself, lead 0, already
--    takes the rest of the day from the hourly forecast and the extreme observed so far.)
create or replace function ops.model_inputs(p_as_of timestamptz, p_known_at timestamptz default 'infinity', p_cities text[] default null)
returns table (city_code text, climate_date date, kind text, lead_days integer, source ops.forecast_source,
               forecast_f numeric, forecast_at timestamptz, bias numeric, sigma double precision, df integer,
               mu double precision, observed numeric, observed_at timestamptz, rest_extreme numeric,
               hours_left double precision, fit_known_at timestamptz, note text)
language plpgsql stable
set search_path = pg_catalog, ops
-- one plan for every call: a custom plan per call cost more than running the query (the backtest calls it
-- per decision time, the cycle per event: track_functions showed 3.6 ms a call of its own, 1.1 generic);
-- its parameters change no good plan's shape (the cities filter applies to the ten cities first)
set plan_cache_mode = force_generic_plan
as $fn$
#variable_conflict use_column
begin
return query
with prm as materialized (
    select max(p.value) filter (where p.name = 'forecast_age_var_per_day')::float8 as age_var,
           make_interval(mins => (max(p.value) filter (where p.name = 'max_observation_age_min'))::int) as obs_age,
           (max(p.value) filter (where p.name = 'min_sigma_f'))::float8 as min_sigma,
           make_interval(mins => (max(p.value) filter (where p.name = 'max_weather_age_min'))::int) as weather_age
      from ops.control_at(null::ops.strategy_params, p_known_at) p where p.strategy = 'all'
),
fh as (
    select fa.*, c.std_utc_offset,
           fa.climate_date - ops.climate_date(p_as_of, c.std_utc_offset) as lead,
           extract(epoch from ops.climate_day_start(fa.climate_date + 1, c.std_utc_offset) - p_as_of) / 3600.0 as left_h,
           hr.forecast_f as hourly_day_f
      from ops.forecasts_at(p_as_of, null, p_known_at, p_cities) fa
      join ops.cities c on c.code = fa.city_code
     cross join prm
      -- the hourly forecast's whole-day extreme for the same day and kind (fresh only)
      left join lateral (select h.forecast_f from ops.forecasts h
                          where h.city_code = fa.city_code and h.climate_date = fa.climate_date and h.kind = fa.kind
                            and h.source = 'hourly' and h.fetched_at <= p_as_of and not h.is_stale
                            and h.fetched_at > p_as_of - prm.weather_age
                          order by h.fetched_at desc limit 1) hr on fa.source <> 'hourly'
),
f as (
    select fh.*,
           case when fh.kind = 'high' then greatest(fh.forecast_f, fh.hourly_day_f)
                else least(fh.forecast_f, fh.hourly_day_f) end as day_f
      from fh
),
base as (
    select f.*, cal.bias as cbias, cal.df as cdf, cal.known_at, cal.n, cal.is_prior, cal.source as csource,
           extract(epoch from p_as_of - f.fetched_at) / 3600.0 as age_h,
           sqrt(cal.sigma::float8 ^ 2 + prm.age_var
                * greatest(extract(epoch from p_as_of - f.fetched_at) / 3600.0 - coalesce(cal.mean_age_h, 0), 0) / 24.0) as day_sigma,
           prm.obs_age, prm.min_sigma
      from f
      -- the newest fit known then of the product in use (one product per calibration cell), else the
      -- newest for any product (source null): two index probes per forecast (model_calibration_key), not
      -- a pass over every fit ever made (the table grows by each re-fit's cells, every day)
      join lateral (select c2.* from (
                        (select mc.* from ops.model_calibration mc
                          where mc.city_code = f.city_code and mc.kind = f.kind and mc.lead_days = least(f.lead, 3)
                            and mc.source = f.source and mc.known_at <= p_as_of
                          order by mc.known_at desc limit 1)
                        union all
                        (select mc.* from ops.model_calibration mc
                          where mc.city_code = f.city_code and mc.kind = f.kind and mc.lead_days = least(f.lead, 3)
                            and mc.source is null and mc.known_at <= p_as_of
                          order by mc.known_at desc limit 1)) c2
                     order by c2.source is null limit 1) cal on true
     cross join prm
),
obs as (    -- the extreme observed so far on the decision's climate day (6-hourly groups only when inside it)
    select o.city_code,
           max(greatest(o.temp_f, case when o.observed_at - interval '6 hours' >= ops.climate_day_start(o.climate_date, c.std_utc_offset) then o.max6h_f end)) as hi,
           min(least(o.temp_f, case when o.observed_at - interval '6 hours' >= ops.climate_day_start(o.climate_date, c.std_utc_offset) then o.min6h_f end)) as lo,
           max(o.observed_at) as last_at
      from ops.observations o join ops.cities c on c.code = o.city_code
     where o.observed_at <= p_as_of and o.climate_date = ops.climate_date(p_as_of, c.std_utc_offset)
       and (p_cities is null or o.city_code = any (p_cities))
     group by o.city_code
),
hourly as (
    select distinct on (h.city_code) h.city_code, h.snapshot_id
      from ops.hourly_temps h
     where h.fetched_at <= p_as_of and h.fetched_at > p_as_of - interval '1 day'
       and (p_cities is null or h.city_code = any (p_cities))
     order by h.city_code, h.fetched_at desc
),
rest as (   -- the hours still to come today (the current hour included), from the newest hourly forecast
    select h.city_code, max(t.temp_f) as hi, min(t.temp_f) as lo
      from hourly h
      join ops.cities c on c.code = h.city_code
      join ops.hourly_temps t on t.snapshot_id = h.snapshot_id
     where t.valid_at + interval '1 hour' > p_as_of
       and t.valid_at < ops.climate_day_start(ops.climate_date(p_as_of, c.std_utc_offset) + 1, c.std_utc_offset)
     group by h.city_code
),
decided as (
    select b.*,
           case when b.kind = 'high' then ob.hi else ob.lo end as obs_x, ob.last_at,
           case when b.kind = 'high' then r.hi else r.lo end as rest_x,
           b.lead = 0 and ob.last_at >= p_as_of - b.obs_age as obs_fresh,
           least(greatest(b.left_h, 0), 24) / 24.0 as frac
      from base b
      left join obs ob on ob.city_code = b.city_code and b.lead = 0
      left join rest r on r.city_code = b.city_code and b.lead = 0
)
select d.city_code, d.climate_date, d.kind, d.lead, d.source, d.forecast_f, d.fetched_at, d.cbias,
       greatest(case when d.obs_fresh and d.rest_x is not null then d.day_sigma * sqrt(d.frac) else d.day_sigma end, d.min_sigma),
       d.cdf,
       case when d.obs_fresh and d.rest_x is not null then d.rest_x + d.cbias * d.frac
            else d.day_f + d.cbias end::float8,
       case when d.obs_fresh then d.obs_x end,
       d.last_at,
       case when d.obs_fresh then d.rest_x end,
       d.left_h::float8,
       d.known_at,
       format('%s%s %s °F, %s h old; %s fit%s', d.source,
              case when d.source <> d.city_source then format(' (the city''s source %s has no value for this day)', d.city_source) else '' end,
              d.forecast_f, round(d.age_h::numeric, 1),
              case when d.cdf is null then 'normal' else 'student-t ' || d.cdf end,
              case when d.is_prior then ' (prior)' else format(' n=%s of %s%s', d.n, to_char(d.known_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI"Z"'),
                                                                  case when d.csource is null then ', pooled over products' else '' end) end)
       || case when d.day_f <> d.forecast_f
               then format('; whole climate day: the hourly forecast''s %s %s °F (outside the %s period) decides', d.kind,
                           d.day_f, case when d.kind = 'high' then 'daytime' else 'overnight' end)
               else '' end
       || case when d.lead > 0 then ''
               when d.last_at is null then '; no observation yet today: observed part ignored'
               when not d.obs_fresh then format('; observations stale (newest %s min old, limit %s): observed part ignored',
                                                floor(extract(epoch from p_as_of - d.last_at) / 60), (extract(epoch from d.obs_age) / 60)::int)
               when d.rest_x is null then format('; observed %s °F; no hourly forecast for the rest of the day: whole-day forecast', d.obs_x)
               else format('; observed %s °F, rest of day %s %s °F over %s h', d.obs_x,
                           case when d.kind = 'high' then 'max' else 'min' end, d.rest_x, round(d.left_h::numeric, 1)) end
  from decided d;
end
$fn$;
comment on function ops.model_inputs(timestamptz, timestamptz, text[]) is 'The temperature model at p_as_of (only the cities in p_cities, when given) (parameters and cities as known at p_known_at) per city x day x kind: forecast (one source per city), newest calibration of that source known then, mu/sigma/df (same-day: rest of the day with the fresh observed extreme) and a note saying what it used.';
