-- Markets; a settlement counts once it was due at or before the public cut-off (realised P&L as of then).
select m.ticker, m.event_ticker, m.city_code, m.climate_date, m.kind::text as kind, m.status, m.result, m.close_time,
       coalesce(m.expiration_time, m.close_time) as settles_at,
       case m.kind::text when 'high' then 'DailyHigh' when 'low' then 'DailyLow' else 'Monthly' end as strategy,
       m.status = 'finalized' and m.result in ('yes', 'no') and coalesce(m.expiration_time, m.close_time) <= c.at as is_settled
  from {{ source('ops', 'markets') }} m
 cross join {{ source('analytics', 'public_cutoff') }} c
