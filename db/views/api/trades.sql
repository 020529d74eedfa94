create or replace view api.trades as
select t.traded_at, t.city, t.market, t.side, t.price, t.contracts,
       w.kind, w.climate_date, w.bracket, w.words
  from analytics.v_public_trades t
  join analytics.v_market_words w on w.ticker = t.market
 order by t.traded_at desc, t.fill_id
 limit 1000;
comment on view api.trades is 'Public: the last 1,000 trades, each at least 60 minutes old, with the market in words (page with limit/offset).';
