-- Per city per climate day: activity, fees, realised and marked P&L, hit rate and the model's Brier score.
select city, climate_date,
       sum(signals) as signals, sum(orders) as orders, sum(fills) as fills, sum(contracts) as contracts,
       sum(fees) as fees, sum(realised_pnl) as realised_pnl, sum(marked_pnl) as marked_pnl,
       sum(realised_pnl) + sum(marked_pnl) - sum(fees) as net_pnl,
       round(sum(winning_contracts) / nullif(sum(contracts) filter (where is_settled), 0), 4) as hit_rate,
       round(avg(brier), 6) as brier,
       count(*) filter (where is_settled) as settled_markets
  from {{ ref('int_market_results') }}
 group by city, climate_date
