-- Hourly equity from the fill ledger and quote snapshots: cash (bankroll - cost - fees + settlement
-- payouts) plus open positions marked at what they could be sold for; drawdown from the running peak.
-- It ends at the last full hour before the public cut-off: no point of it is younger than 60 minutes.
with bounds as (
    select date_trunc('hour', min(f.created_time)) as first_hour, date_trunc('hour', c.at) as last_hour
      from {{ ref('stg_fills') }} f cross join {{ source('analytics', 'public_cutoff') }} c
     group by c.at
),
hours as (
    select generate_series(b.first_hour, b.last_hour, interval '1 hour') as at
      from bounds b where b.first_hour is not null
),
bankroll as (
    select value as bankroll from {{ ref('stg_risk_limits') }} where name = 'bankroll'
),
held as (   -- per hour and market, what the ledger says we held then
    select h.at, f.ticker,
           sum(case f.side when 'bid' then f.contracts else 0 end) as yes_contracts,
           sum(case f.side when 'ask' then f.contracts else 0 end) as no_contracts,
           sum(f.cost) as cost, sum(f.fee) as fees
      from hours h join {{ ref('stg_fills') }} f on f.created_time <= h.at
     group by h.at, f.ticker
),
valued as (
    select d.*, m.is_settled and m.settles_at <= d.at as settled,
           case m.result when 'yes' then d.yes_contracts else d.no_contracts end as payout,
           d.yes_contracts * coalesce(q.yes_bid, 0) + d.no_contracts * coalesce(1 - q.yes_ask, 0) as mark
      from held d
      join {{ ref('stg_markets') }} m on m.ticker = d.ticker
      left join lateral (select s.yes_bid, s.yes_ask from {{ ref('stg_market_snapshots') }} s
                          where s.ticker = d.ticker and s.fetched_at <= d.at
                          order by s.fetched_at desc limit 1) q on true
),
per_hour as (
    select h.at,
           coalesce(sum(v.payout - v.cost) filter (where v.settled), 0) as realised_pnl,
           coalesce(sum(v.mark) filter (where not v.settled), 0) as marked_value,
           coalesce(sum(v.cost) filter (where not v.settled), 0) as open_cost,
           coalesce(sum(v.fees), 0) as fees,
           coalesce(sum(case when v.settled then v.payout else 0 end - v.cost), 0) as cash_flow
      from hours h left join valued v on v.at = h.at
     group by h.at
)
select p.at,
       b.bankroll + p.cash_flow - p.fees as cash,
       p.marked_value,
       b.bankroll + p.cash_flow - p.fees + p.marked_value as equity,
       p.realised_pnl, p.marked_value - p.open_cost as marked_pnl, p.fees,
       b.bankroll + p.cash_flow - p.fees + p.marked_value
         - max(b.bankroll + p.cash_flow - p.fees + p.marked_value) over (order by p.at) as drawdown
  from per_hour p cross join bankroll b
