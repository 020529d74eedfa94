-- Orders decided at or before the public cut-off. No state column: an old order's state moves with
-- its fills and cancels, which would leak what happened in the last 60 minutes.
select id as order_id, ticker, strategy::text as strategy, side, price, count as contracts,
       mode::text as mode, as_of
  from {{ source('ops', 'orders') }}
 where as_of <= (select at from {{ source('analytics', 'public_cutoff') }})
   and mode = (select book from {{ source('analytics', 'public_cutoff') }})
