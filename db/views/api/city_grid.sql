-- Per city: today's forecasts and observed extremes (public weather data, live), each open bracket's
-- market quote (public, live), and -- delayed like everything derived from our trading -- the model's
-- probability from the newest signal at or before the public cut-off and our position from fills at or
-- before it. Today = the city's current climate day in local standard time: ops.climate_date's
-- expression, inlined because web_anon executes no function (tests/db/public.sql checks they agree).
create or replace view api.city_grid as
with cutoff as (select at, book from analytics.public_cutoff),
today as (select c.code, c.cluster, (((select k.now from analytics.clock k) at time zone 'UTC') + c.std_utc_offset)::date as day
            from ops.cities c where c.enabled),
held as (select f.ticker, sum(case f.side when 'bid' then f.count else -f.count end) as position
           from ops.fills f cross join cutoff where f.created_time <= cutoff.at and f.mode = cutoff.book group by f.ticker)
select t.code as city, t.cluster::text as cluster, t.day as climate_date, m.kind::text as kind, m.ticker as market,
       m.strike_type, m.floor_strike, m.cap_strike,
       (select f.forecast_f from ops.v_latest_forecast f where f.city = t.code and f.climate_date = t.day and f.kind = m.kind::text and not f.is_stale) as forecast_f,
       (select case m.kind when 'high' then o.max_f else o.min_f end from ops.v_observed_extremes o where o.city = t.code and o.climate_date = t.day) as observed_f,
       s.model_p, q.yes_bid, q.yes_ask,
       coalesce(h.position, 0) as position
  from today t
  join ops.markets m on m.city_code = t.code and m.climate_date = t.day and m.kind in ('high', 'low')
  left join lateral (select sg.model_p from ops.signals sg cross join cutoff
                      where sg.ticker = m.ticker and sg.as_of <= cutoff.at order by sg.as_of desc limit 1) s on true
  left join lateral (select ms.yes_bid, ms.yes_ask from ops.market_snapshots ms where ms.ticker = m.ticker order by ms.fetched_at desc limit 1) q on true
  left join held h on h.ticker = m.ticker
 order by t.code, m.kind, m.floor_strike nulls first
 limit 200;
comment on view api.city_grid is 'Public: per city today''s forecast and observation and each bracket''s quote (live), model p and position (as of the 60-minute cut-off).';
