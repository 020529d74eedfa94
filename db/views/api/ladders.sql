-- The Cities tab: every open daily bracket of each city's today and tomorrow, the model's probability
-- (newest signal at or before the public cut-off: delayed) beside the market's implied probability (the
-- mid of the live quote, or the one side quoted: public market data).
create or replace view api.ladders as
with cutoff as (select at from analytics.public_cutoff),
city_days as (
    select c.code, (((select k.now from analytics.clock k) at time zone 'UTC') + c.std_utc_offset)::date + d.offset_days as day
      from ops.cities c cross join (values (0), (1)) d(offset_days)
     where c.enabled
)
select m.city_code as city, m.climate_date, m.kind::text as kind, m.ticker as market, w.bracket, w.lo, w.hi,
       s.model_p, q.yes_bid, q.yes_ask,
       round(case when q.yes_bid is not null and q.yes_ask is not null then (q.yes_bid + q.yes_ask) / 2
                  else coalesce(q.yes_bid, q.yes_ask) end, 4) as market_p
  from city_days cd
  join ops.markets m on m.city_code = cd.code and m.climate_date = cd.day and m.kind in ('high', 'low')
  join analytics.v_market_words w on w.ticker = m.ticker
  left join lateral (select sg.model_p from ops.signals sg cross join cutoff
                      where sg.ticker = m.ticker and sg.as_of <= cutoff.at order by sg.as_of desc limit 1) s on true
  left join lateral (select ms.yes_bid, ms.yes_ask from ops.market_snapshots ms
                      where ms.ticker = m.ticker order by ms.fetched_at desc limit 1) q on true
 where m.result = ''
 order by m.city_code, m.climate_date, m.kind, w.lo nulls first, w.hi nulls last
 limit 600;
comment on view api.ladders is 'Public: each open daily bracket of today and tomorrow: model p (as of the 60-minute cut-off) and the market''s implied p (live quote mid).';
