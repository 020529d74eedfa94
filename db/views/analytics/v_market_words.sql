-- Every market in words a visitor reads: "NYC high 70–71 °F, Nov 28", and the bracket alone ("70–71 °F",
-- "57 °F or above", "48 °F or below"). The whole-degree interval is ops.yes_lo / ops.yes_hi's, inlined
-- because the public views that read this run as web_anon, which executes no function
-- (tests/test_dashboard_api.py checks every strike type agrees with ops.yes_interval).
-- Public data only: markets are what Kalshi lists to everyone.
create or replace view analytics.v_market_words as
with yes as (
    select m.ticker, m.city_code, m.kind::text as kind, m.climate_date, m.strike_type, m.floor_strike, m.cap_strike,
           case m.strike_type when 'between' then ceil(m.floor_strike)
                              when 'greater' then floor(m.floor_strike) + 1
                              when 'greater_or_equal' then ceil(m.floor_strike) end as lo,
           case m.strike_type when 'between' then floor(m.cap_strike)
                              when 'less' then ceil(m.cap_strike) - 1
                              when 'less_or_equal' then floor(m.cap_strike) end as hi
      from ops.markets m
),
bracket as (
    select y.*,
           case when y.kind not in ('high', 'low') then   -- monthly precipitation: the strike as listed, in inches
                     case when y.floor_strike is not null and y.cap_strike is not null then y.floor_strike || '–' || y.cap_strike || ' in'
                          when y.floor_strike is not null then 'above ' || y.floor_strike || ' in'
                          when y.cap_strike is not null then 'below ' || y.cap_strike || ' in'
                          else y.strike_type end
                when y.lo is not null and y.hi is not null and y.lo = y.hi then y.lo || ' °F'
                when y.lo is not null and y.hi is not null then y.lo || '–' || y.hi || ' °F'
                when y.lo is not null then y.lo || ' °F or above'
                when y.hi is not null then y.hi || ' °F or below'
                else y.strike_type end as bracket
      from yes y
)
select b.ticker, b.city_code as city, b.kind, b.climate_date,
       case when b.kind in ('high', 'low') then b.lo end as lo, case when b.kind in ('high', 'low') then b.hi end as hi, b.bracket,
       case when b.kind in ('high', 'low')
            then b.city_code || ' ' || b.kind || ' ' || b.bracket || ', ' || to_char(b.climate_date, 'Mon FMDD')
            else b.city_code || ' ' || replace(b.kind, 'monthly_', '') || ' ' || b.bracket || ', ' || to_char(b.climate_date, 'Mon YYYY')
       end as words
  from bracket b;
comment on view analytics.v_market_words is 'Each market in words ("NYC high 70–71 °F, Nov 28") with its whole-degree YES interval [lo, hi].';
