-- The same per strategy (DailyHigh, DailyLow, Monthly) per climate day.
select strategy, climate_date,
       {{ metric_columns() }}
  from {{ ref('int_market_results') }}
 group by strategy, climate_date
