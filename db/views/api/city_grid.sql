-- Per city: today's forecasts and observed extremes, each open bracket's model probability against its
-- market price, our position, and the day's P&L. Today = the city's current climate day.
create or replace view api.city_grid as
with today as (select c.code, c.cluster, ops.climate_date(now(), c.std_utc_offset) as day from ops.cities c where c.enabled)
select t.code as city, t.cluster::text as cluster, t.day as climate_date, m.kind::text as kind, m.ticker as market,
       m.strike_type, m.floor_strike, m.cap_strike,
       (select f.forecast_f from ops.v_latest_forecast f where f.city = t.code and f.climate_date = t.day and f.kind = m.kind::text and not f.is_stale) as forecast_f,
       (select case m.kind when 'high' then o.max_f else o.min_f end from ops.v_observed_extremes o where o.city = t.code and o.climate_date = t.day) as observed_f,
       s.model_p, q.yes_bid, q.yes_ask,
       coalesce(p.position, 0) as position
  from today t
  join ops.markets m on m.city_code = t.code and m.climate_date = t.day and m.kind in ('high', 'low')
  left join lateral (select sg.model_p from ops.signals sg where sg.ticker = m.ticker order by sg.as_of desc limit 1) s on true
  left join lateral (select ms.yes_bid, ms.yes_ask from ops.market_snapshots ms where ms.ticker = m.ticker order by ms.fetched_at desc limit 1) q on true
  left join ops.positions p on p.ticker = m.ticker
 order by t.code, m.kind, m.floor_strike nulls first
 limit 200;
comment on view api.city_grid is 'Public: per city today''s forecast and observation, each bracket''s model p vs market price, and position.';
