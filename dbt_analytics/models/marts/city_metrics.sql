-- Per city per climate day: activity, fees, realised and marked P&L, hit rate and the model's Brier score.
select city, climate_date,
       {{ metric_columns() }}
  from {{ ref('int_market_results') }}
 group by city, climate_date
