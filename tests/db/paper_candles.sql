-- The priced replay's fill rule over trade candles (db/functions/ops/replay_prices.sql): a quote derived
-- from candles is not a book (nothing takes from it), and a resting order fills only from a bucket that
-- began after it was placed and traded at or through its price -- up to the bucket's count, no more than
-- the order still has open, once per bucket.
begin;
select plan(12);
\ir fixtures/one_market.sql

create function pg_temp.paper_order(p_key text, p_side text, p_price numeric, p_tif text)
returns bigint language sql as $$
    insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of, time_in_force)
    values ('test|candles|' || p_key, 'mb-' || md5(p_key), 'KXHIGHNY-26NOV26-B50.5', 'DailyHigh', p_side, p_price, 10, 'paper', 'paper',
            '2026-11-25 18:00Z', p_tif)
    returning id $$;
create function pg_temp.sent(p_id bigint) returns void language sql as $$
    select set_config('milkbot.transition_reason', 'test: sent', true);
    update ops.orders set state = 'SUBMITTING' where id = p_id;
    update ops.orders set state = 'RESTING', exchange_order_id = 'paper-x' || p_id where id = p_id $$;
create function pg_temp.filled(p_id bigint) returns numeric language sql as $$
    select coalesce(sum(count), 0) from ops.fills where order_id = p_id $$;

-- the recorded trades: a bucket before the order (at 35 cents), one after it that stayed above its price
-- (45), one that traded down to it (40, 4 contracts), one through it (38, 20)
insert into ops.recorded_candles (ticker, start, open, high, low, close, count) values
    ('KXHIGHNY-26NOV26-B50.5', '2026-11-25 17:55Z', 0.41, 0.41, 0.35, 0.41, 7),
    ('KXHIGHNY-26NOV26-B50.5', '2026-11-25 18:05Z', 0.46, 0.47, 0.45, 0.46, 9),
    ('KXHIGHNY-26NOV26-B50.5', '2026-11-25 18:10Z', 0.44, 0.44, 0.40, 0.42, 4),
    ('KXHIGHNY-26NOV26-B50.5', '2026-11-25 18:30Z', 0.42, 0.42, 0.38, 0.39, 20);
select is(ops.candle_quotes(0.01), 4, 'a quote per candle, at its end');
select results_eq($$select yes_bid, yes_ask, yes_ask_size from ops.market_snapshots where fetched_at = '2026-11-25 18:00Z'$$,
                  $$values (0.40::numeric(6,4), 0.42::numeric(6,4), 7::numeric(14,2))$$, 'the last trade -/+ the half spread, the traded count as size');

-- a quote derived from candles is not a book: an order taking at its ask takes nothing
select pg_temp.paper_order('ioc', 'bid', 0.42, 'immediate_or_cancel') as ioc \gset
select results_eq($$select filled, remaining from ops.paper_submit('mb-' || md5('ioc'), '2026-11-25 18:01Z')$$,
                  $$values (0::numeric, 0::numeric)$$, 'an IOC at the candle quote''s ask: nothing taken');
select set_config('milkbot.transition_reason', 'test: IOC, nothing taken', true);
update ops.orders set state = 'CANCELED' where id = :ioc;

-- a resting YES bid at 40 cents placed at 18:01
select pg_temp.paper_order('bid', 'bid', 0.40, 'good_till_canceled') as bid \gset
select results_eq($$select filled, remaining from ops.paper_submit('mb-' || md5('bid'), '2026-11-25 18:01Z')$$,
                  $$values (0::numeric, 10::numeric)$$, 'a resting order: nothing taken from a candle quote, all of it rests');
select pg_temp.sent(:bid);
select is(ops.paper_match_candles('2026-11-25 18:14Z'), 0, 'by 18:14: the bucket before placement and the one above the price fill nothing (and the 18:10 bucket is not over)');
select is(ops.paper_match_candles('2026-11-25 18:15Z'), 1, 'the 18:10 bucket, which traded down to 40, is over');
select is(pg_temp.filled(:bid), 4::numeric, 'it fills its 4 contracts, no more');
select results_eq($$select yes_price, is_taker, created_time from ops.fills where order_id = $$ || :bid,
                  $$values (0.40::numeric(6,4), false, '2026-11-25 18:15Z'::timestamptz)$$, 'at the order''s own price, as a maker, dated at the bucket''s end');
select is(ops.paper_match_candles('2026-11-25 18:20Z'), 0, 'matched again: nothing twice');
select ops.paper_match_candles('2026-11-25 19:00Z');
select is(pg_temp.filled(:bid), 10::numeric, 'a bucket through the price fills the rest (6 of its 20): never more than the order');
select ops.sync_fills_into_orders();

-- a NO bid (selling YES at 45): only a bucket that traded at or above 45
select pg_temp.paper_order('ask', 'ask', 0.45, 'good_till_canceled') as ask \gset
select ops.paper_submit('mb-' || md5('ask'), '2026-11-25 18:02Z');
select pg_temp.sent(:ask);
select ops.paper_match_candles('2026-11-25 19:00Z');
select is(pg_temp.filled(:ask), 9::numeric, 'a NO bid at 45: the bucket that traded at 45-47 (9), not the ones that stayed at or below 44');

-- a live database has no candles: nothing changes there
delete from ops.recorded_candles;
select is(ops.paper_match_candles('2026-11-26 00:00Z'), 0, 'no recorded candles, no candle fills');
select * from finish();
rollback;
