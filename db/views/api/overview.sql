-- The Overview grid: per enabled city, for today and tomorrow (the city's climate day in local standard
-- time, and the next), high and low:
--   live public data: the forecast (newest fresh one), the observed extreme so far (today), the city's
--   data health (ages of its newest forecast and observation against the staleness limits the model uses);
--   delayed (analytics.public_cutoff): the bracket the model favours -- the highest model_p among the
--   ladder's newest signals at or before the cut-off -- and whether we held contracts there then;
--   live again: the market's quote for that bracket (what everyone sees on Kalshi).
-- The climate day inlines ops.climate_date (web_anon executes no function; tests/test_public_boundary.py).
create or replace view api.overview as
with cutoff as (select at, book from analytics.public_cutoff),
limits as (
    select max(value) filter (where name = 'max_weather_age_min') * interval '1 minute' as forecast_max_age,
           max(value) filter (where name = 'max_observation_age_min') * interval '1 minute' as observation_max_age
      from ops.strategy_params where strategy = 'all'
),
city_days as (
    select c.code, c.cluster, d.offset_days,
           (((select k.now from analytics.clock k) at time zone 'UTC') + c.std_utc_offset)::date + d.offset_days as day
      from ops.cities c cross join (values (0), (1)) d(offset_days)
     where c.enabled
),
freshness as (
    select c.code,
           (select max(f.fetched_at) from ops.forecasts f where f.city_code = c.code and not f.is_stale) as forecast_at,
           (select max(o.observed_at) from ops.observations o where o.city_code = c.code) as observed_at
      from ops.cities c where c.enabled
),
health as (
    select f.code, f.forecast_at, f.observed_at,
           case when f.forecast_at is null then 'no forecast yet'
                when (select k.now from analytics.clock k) - f.forecast_at > l.forecast_max_age then 'forecast stale'
                when f.observed_at is null or (select k.now from analytics.clock k) - f.observed_at > l.observation_max_age then 'observations stale'
                else 'ok' end as data_health
      from freshness f cross join limits l
),
ladder as (   -- each open daily bracket with its newest delayed signal and position
    select m.ticker, m.city_code, m.climate_date, m.kind::text as kind, s.model_p,
           coalesce(h.position, 0) as position
      from city_days cd
      join ops.markets m on m.city_code = cd.code and m.climate_date = cd.day and m.kind in ('high', 'low')
      left join lateral (select sg.model_p from ops.signals sg cross join cutoff
                          where sg.ticker = m.ticker and sg.as_of <= cutoff.at order by sg.as_of desc limit 1) s on true
      left join lateral (select sum(case f.side when 'bid' then f.count else -f.count end) as position
                           from ops.fills f cross join cutoff
                          where f.ticker = m.ticker and f.created_time <= cutoff.at and f.mode = cutoff.book) h on true
),
favoured as (
    select distinct on (l.city_code, l.climate_date, l.kind) l.city_code, l.climate_date, l.kind, l.ticker, l.model_p
      from ladder l where l.model_p is not null
     order by l.city_code, l.climate_date, l.kind, l.model_p desc, l.ticker
),
held as (
    select l.city_code, l.climate_date, l.kind, sum(abs(l.position)) as contracts_held
      from ladder l group by l.city_code, l.climate_date, l.kind
)
select cd.code as city, cd.cluster::text as cluster, cd.day as climate_date,
       case cd.offset_days when 0 then 'today' else 'tomorrow' end as day, k.kind,
       (select lf.forecast_f from ops.v_latest_forecast lf
         where lf.city = cd.code and lf.climate_date = cd.day and lf.kind = k.kind and not lf.is_stale) as forecast_f,
       case when cd.offset_days = 0 then
            (select case k.kind when 'high' then o.max_f else o.min_f end from ops.v_observed_extremes o
              where o.city = cd.code and o.climate_date = cd.day) end as observed_f,
       w.bracket as favoured_bracket, fv.model_p as favoured_p, q.yes_bid, q.yes_ask,
       coalesce(hd.contracts_held, 0) > 0 as holding,
       h.data_health, h.forecast_at, h.observed_at
  from city_days cd
 cross join (values ('high'), ('low')) k(kind)
  join health h on h.code = cd.code
  left join favoured fv on fv.city_code = cd.code and fv.climate_date = cd.day and fv.kind = k.kind
  left join analytics.v_market_words w on w.ticker = fv.ticker
  left join lateral (select ms.yes_bid, ms.yes_ask from ops.market_snapshots ms
                      where ms.ticker = fv.ticker order by ms.fetched_at desc limit 1) q on true
  left join held hd on hd.city_code = cd.code and hd.climate_date = cd.day and hd.kind = k.kind
 order by cd.code, cd.day, k.kind
 limit 100;
comment on view api.overview is 'Public Overview grid: per city, today and tomorrow, high and low: forecast and observation (live), favoured bracket and its model p, holding (as of the 60-minute cut-off), the bracket''s quote and the city''s data health (live).';
