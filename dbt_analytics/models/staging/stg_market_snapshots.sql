select ticker, fetched_at, yes_bid, yes_ask from {{ source('ops', 'market_snapshots') }}
