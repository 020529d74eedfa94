-- The public trade feed: fills only once they are at least 60 minutes old, and only what the public
-- feed shows (time, city, market, side, price, contracts) — no order ids, client ids, account or
-- risk fields. The delay is analytics.public_cutoff, the one definition every public path uses.
create or replace view analytics.v_public_trades as
select f.created_time as traded_at, m.city_code as city, f.ticker as market,
       case f.side when 'bid' then 'buy_yes' else 'buy_no' end as side,
       case f.side when 'bid' then f.yes_price else 1 - f.yes_price end as price,
       f.count as contracts, f.fill_id
  from ops.fills f
  join ops.markets m on m.ticker = f.ticker
 where f.created_time <= (select at from analytics.public_cutoff)
   and f.mode = (select book from analytics.public_cutoff);   -- one book: paper and live never add up
comment on view analytics.v_public_trades is 'Fills at least 60 minutes old, public columns only (price is what was paid for the side bought); fill_id orders ties and is not exposed.';
