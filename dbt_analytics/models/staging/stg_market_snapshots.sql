-- Quotes at or before the public cut-off: positions are marked as they stood then, so marked P&L is
-- as old as the positions it marks.
select ticker, fetched_at, yes_bid, yes_ask
  from {{ source('ops', 'market_snapshots') }}
 where fetched_at <= (select at from {{ source('analytics', 'public_cutoff') }})
