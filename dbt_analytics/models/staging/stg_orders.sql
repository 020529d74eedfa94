select id as order_id, ticker, strategy::text as strategy, side, price, count as contracts, state::text as state,
       mode::text as mode, as_of, created_at
  from {{ source('ops', 'orders') }}
