create or replace view api.trades as
select traded_at, city, market, side, price, contracts
  from analytics.v_public_trades
 order by traded_at desc
 limit 100;
comment on view api.trades is 'Public: the last 100 trades, each at least 60 minutes old.';
