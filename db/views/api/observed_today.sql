-- Public weather data, live (NWS observations are everyone's): each city's observed temperature on its
-- current climate day (local standard time), one row per hour (the hour's highest and lowest reading),
-- beside the day's forecast high and low -- the dashboard's "so far against the forecast" per city.
-- ops.climate_date's expression inlined: web_anon executes no function (as api.city_grid does).
create or replace view api.observed_today as
with today as (select c.code, (((select k.now from analytics.clock k) at time zone 'UTC') + c.std_utc_offset)::date as day
                 from ops.cities c where c.enabled)
select t.code as city, t.day as climate_date, date_trunc('hour', o.observed_at) as hour,
       max(o.temp_f) as max_f, min(o.temp_f) as min_f, count(*) as readings,
       (select f.forecast_f from ops.v_latest_forecast f
         where f.city = t.code and f.climate_date = t.day and f.kind = 'high' and not f.is_stale) as forecast_high_f,
       (select f.forecast_f from ops.v_latest_forecast f
         where f.city = t.code and f.climate_date = t.day and f.kind = 'low' and not f.is_stale) as forecast_low_f
  from today t
  join ops.observations o on o.city_code = t.code and o.climate_date = t.day
 group by t.code, t.day, date_trunc('hour', o.observed_at)
 order by t.code, hour
 limit 400;
comment on view api.observed_today is 'Public: per city, each hour of today''s climate day so far with the observed max/min and the day''s forecast high/low (live public weather data).';
