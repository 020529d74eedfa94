-- The Cities tab's Monthly card: each open "above X inches" market of a city's current month, the
-- month's rain or snow so far and its normal to date from the NWS bulletins (public weather data, live),
-- the model's probability (newest signal at or before the public cut-off: delayed) beside the market's
-- (the mid of the live quote: public market data).
create or replace view api.monthly as
with cutoff as (select at from analytics.public_cutoff),
month_markets as (
    select m.ticker, m.city_code, m.kind, m.climate_date as month, m.strike_type, m.floor_strike
      from ops.markets m join ops.cities c on c.code = m.city_code and c.enabled
     where m.kind in ('monthly_rain', 'monthly_snow') and m.result = '' and m.status in ('initialized', 'active')
       and m.climate_date = date_trunc('month', ((select k.now from analytics.clock k) at time zone 'UTC') + c.std_utc_offset)::date),
-- the newest final bulletin of the month per city: its month-to-date amount and normal to date
bulletin as (
    select distinct on (r.city_code, mm.kind) r.city_code, mm.kind, r.climate_date as through,
           case mm.kind when 'monthly_rain' then r.precip_mtd_in else r.snow_mtd_in end as mtd_in,
           case mm.kind when 'monthly_rain' then r.precip_mtd_normal_in else r.snow_mtd_normal_in end as normal_in
      from (select distinct city_code, kind, month from month_markets) mm
      join ops.climate_reports r on r.city_code = mm.city_code and r.is_final
       and r.climate_date >= mm.month and r.climate_date < mm.month + interval '1 month'
     order by r.city_code, mm.kind, r.climate_date desc, r.issued_at desc)
select mm.city_code as city, mm.kind::text as kind, mm.month, mm.ticker as market,
       case mm.strike_type when 'greater' then 'above ' when 'greater_or_equal' then 'at least ' else mm.strike_type || ' ' end
           || trim_scale(mm.floor_strike)::text || ' in' as threshold,
       mm.floor_strike as threshold_in,
       b.through as bulletin_through, b.mtd_in as month_to_date_in, b.normal_in as normal_to_date_in,
       s.model_p, q.yes_bid, q.yes_ask,
       round(case when q.yes_bid is not null and q.yes_ask is not null then (q.yes_bid + q.yes_ask) / 2
                  else coalesce(q.yes_bid, q.yes_ask) end, 4) as market_p
  from month_markets mm
  left join bulletin b on b.city_code = mm.city_code and b.kind = mm.kind
  left join lateral (select sg.model_p from ops.signals sg cross join cutoff
                      where sg.ticker = mm.ticker and sg.as_of <= cutoff.at order by sg.as_of desc limit 1) s on true
  left join lateral (select ms.yes_bid, ms.yes_ask from ops.market_snapshots ms
                      where ms.ticker = mm.ticker order by ms.fetched_at desc limit 1) q on true
 order by mm.city_code, mm.kind, mm.floor_strike
 limit 400;
comment on view api.monthly is 'Public: each open Monthly threshold of a city''s current month: rain/snow so far and its normal to date (NWS bulletins), the model p as of the 60-minute cut-off and the market''s live mid.';
