-- Fills at or before the public cut-off only: every public metric and the equity curve are built from
-- here, so nothing downstream can see a fill younger than 60 minutes.
select fill_id, order_id, ticker, side, yes_price, count as contracts, fee, is_taker, created_time, mode,
       case side when 'bid' then yes_price else 1 - yes_price end * count as cost
  from {{ source('ops', 'fills') }}
 where created_time <= (select at from {{ source('analytics', 'public_cutoff') }})
   and mode = (select book from {{ source('analytics', 'public_cutoff') }})   -- one book: the published one
