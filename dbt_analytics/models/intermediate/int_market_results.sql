-- One row per market: activity, cash, fees, settlement and mark, and the model's day-ahead view.
{{ config(materialized='view') }}
with fills as (
    select ticker, count(*) as fills, sum(contracts) as contracts, sum(fee) as fees, sum(cost) as cost,
           sum(case side when 'bid' then contracts else 0 end) as yes_contracts,
           sum(case side when 'ask' then contracts else 0 end) as no_contracts
      from {{ ref('stg_fills') }} group by ticker
),
signals as (
    select ticker, count(*) as signals from {{ ref('stg_signals') }} group by ticker
),
orders as (
    select ticker, count(*) as orders from {{ ref('stg_orders') }} group by ticker
),
last_mark as (
    select distinct on (ticker) ticker, yes_bid, yes_ask
      from {{ ref('stg_market_snapshots') }} order by ticker, fetched_at desc
),
-- the day-ahead probability: the last before the climate day began (00:00 local standard time) -- later
-- in the day the thermometer has all but settled a high, and a score of those would flatter any model
last_p as (
    select distinct on (s.ticker) s.ticker, s.model_p
      from {{ ref('stg_signals') }} s join {{ ref('stg_markets') }} m on m.ticker = s.ticker
      join {{ ref('stg_cities') }} c on c.city = m.city_code
     where s.model_p is not null
       and s.as_of < least(m.close_time, (m.climate_date::timestamp - c.std_utc_offset) at time zone 'UTC')
     order by s.ticker, s.as_of desc
)
select m.ticker, m.city_code as city, m.climate_date, m.kind, m.strategy, m.is_settled, m.result,
       coalesce(s.signals, 0) as signals, coalesce(o.orders, 0) as orders, coalesce(f.fills, 0) as fills,
       coalesce(f.contracts, 0) as contracts, coalesce(f.fees, 0) as fees, coalesce(f.cost, 0) as cost,
       case when m.is_settled then case m.result when 'yes' then coalesce(f.yes_contracts, 0) else coalesce(f.no_contracts, 0) end - coalesce(f.cost, 0)
            else 0 end as realised_pnl,
       case when m.is_settled then 0
            else coalesce(f.yes_contracts, 0) * coalesce(q.yes_bid, 0) + coalesce(f.no_contracts, 0) * coalesce(1 - q.yes_ask, 0)
                 - coalesce(f.cost, 0) end as marked_pnl,
       case when m.is_settled then case m.result when 'yes' then coalesce(f.yes_contracts, 0) else coalesce(f.no_contracts, 0) end end as winning_contracts,
       p.model_p,
       case when m.is_settled and p.model_p is not null
            then power(p.model_p - case m.result when 'yes' then 1 else 0 end, 2) end as brier
  from {{ ref('stg_markets') }} m
  left join fills f on f.ticker = m.ticker
  left join signals s on s.ticker = m.ticker
  left join orders o on o.ticker = m.ticker
  left join last_mark q on q.ticker = m.ticker
  left join last_p p on p.ticker = m.ticker
