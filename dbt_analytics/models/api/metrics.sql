-- Public: city and strategy metrics in one small flat view (newest days first).
select 'city' as scope, city as key, climate_date, signals, orders, fills, contracts, fees, realised_pnl,
       marked_pnl, net_pnl, hit_rate, brier
  from {{ ref('city_metrics') }}
union all
select 'strategy', strategy, climate_date, signals, orders, fills, contracts, fees, realised_pnl,
       marked_pnl, net_pnl, hit_rate, brier
  from {{ ref('strategy_metrics') }}
order by climate_date desc, scope, key
limit 1000
