select fill_id, order_id, ticker, side, yes_price, count as contracts, fee, is_taker, created_time, mode,
       case side when 'bid' then yes_price else 1 - yes_price end * count as cost
  from {{ source('ops', 'fills') }}
