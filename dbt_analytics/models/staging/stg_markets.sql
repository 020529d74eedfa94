select ticker, event_ticker, city_code, climate_date, kind::text as kind, status, result, close_time,
       coalesce(expiration_time, close_time) as settles_at,
       case kind::text when 'high' then 'DailyHigh' when 'low' then 'DailyLow' else 'Monthly' end as strategy,
       status = 'finalized' and result in ('yes', 'no') as is_settled
  from {{ source('ops', 'markets') }}
