-- Bad rows are impossible: prices outside [0,1], non-positive counts, duplicate natural keys,
-- illegal order transitions, half-quoted books, rewrites of append-only ledgers.
begin;
select plan(17);

\ir fixtures/one_market.sql

select throws_ok($$insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type, open_time, close_time, status)
                   values ('KXHIGHNY-26NOV26-B52.5', 'KXHIGHNY-26NOV26', 'KXHIGHNY', 'NYC', '2026-11-26', 'high', 'between', now(), now() + interval '1 day', 'active')$$,
                 '23514', null, 'a between market needs floor and cap');
select throws_ok($$insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type, floor_strike, open_time, close_time, status)
                   values ('KXHIGHNY-26NOV26-T60', 'KXHIGHNY-26NOV26', 'KXHIGHNY', 'XXX', '2026-11-26', 'high', 'greater', 60, now(), now() + interval '1 day', 'active')$$,
                 '23503', null, 'unknown city is refused');
select throws_ok($$insert into ops.market_snapshots (source, ticker, fetched_at, yes_bid, yes_bid_size, content_hash)
                   values ('orderbook', 'KXHIGHNY-26NOV26-B50.5', now(), 1.20, 5, repeat('a', 64))$$,
                 '23514', null, 'a price above 1 is refused');
select throws_ok($$insert into ops.market_snapshots (source, ticker, fetched_at, yes_bid, content_hash)
                   values ('orderbook', 'KXHIGHNY-26NOV26-B50.5', now(), 0.40, repeat('a', 64))$$,
                 '23514', null, 'a price without a size is refused');
select throws_ok($$insert into ops.market_snapshots (source, ticker, fetched_at, yes_bid, yes_bid_size, yes_ask, yes_ask_size, content_hash)
                   values ('orderbook', 'KXHIGHNY-26NOV26-B50.5', now(), 0.60, 5, 0.50, 5, repeat('a', 64))$$,
                 '23514', null, 'a crossed book (bid > ask) is refused');
select lives_ok($$insert into ops.market_snapshots (source, ticker, fetched_at, yes_bid, yes_bid_size, yes_ask, yes_ask_size, content_hash)
                  values ('orderbook', 'KXHIGHNY-26NOV26-B50.5', '2026-11-25 16:00Z', null, null, 0.50, 5, repeat('a', 64))$$,
                'an empty side is stored as no quote (null), not 0');
select throws_ok($$insert into ops.market_snapshots (source, ticker, fetched_at, yes_ask, yes_ask_size, content_hash)
                   values ('orderbook', 'KXHIGHNY-26NOV26-B50.5', '2026-11-25 16:00Z', 0.50, 5, repeat('b', 64))$$,
                 '23505', null, 'snapshots are unique by source + ticker + fetch time');

select throws_ok($$insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of)
                   values ('intent-key-0', 'mb-zero0000', 'KXHIGHNY-26NOV26-B50.5', 'DailyHigh', 'bid', 0.40, 0, 'paper', 'paper', now())$$,
                 '23514', null, 'a zero-contract order is refused');
select throws_ok($$insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of)
                   values ('intent-key-0', 'mb-zero0000', 'KXHIGHNY-26NOV26-B50.5', 'DailyHigh', 'bid', 1.00, 1, 'paper', 'paper', now())$$,
                 '23514', null, 'an order at price 1 is refused');
insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of)
values ('intent-key-1', 'mb-abcdefgh', 'KXHIGHNY-26NOV26-B50.5', 'DailyHigh', 'bid', 0.40, 3, 'paper', 'paper', now());
select throws_ok($$insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of)
                   values ('intent-key-2', 'mb-abcdefgh', 'KXHIGHNY-26NOV26-B50.5', 'DailyHigh', 'bid', 0.40, 3, 'paper', 'paper', now())$$,
                 '23505', null, 'client_order_id is unique');
select throws_ok($$insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of, state)
                   values ('intent-key-3', 'mb-ijklmnop', 'KXHIGHNY-26NOV26-B50.5', 'DailyHigh', 'bid', 0.40, 3, 'paper', 'paper', now(), 'FILLED')$$,
                 '23514', null, 'orders start PENDING');
select throws_ok($$update ops.orders set state = 'FILLED' where client_order_id = 'mb-abcdefgh'$$,
                 '23514', 'illegal order transition PENDING -> FILLED (order ' || (select id from ops.orders where client_order_id = 'mb-abcdefgh') || ')',
                 'PENDING -> FILLED is not a legal move');
select set_config('milkbot.transition_reason', 'test: submit', true);
update ops.orders set state = 'SUBMITTING' where client_order_id = 'mb-abcdefgh';
select set_config('milkbot.transition_reason', 'test: 201', true);
select set_config('milkbot.exchange_excerpt', '{"order_id":"x"}', true);
update ops.orders set state = 'RESTING' where client_order_id = 'mb-abcdefgh';
select results_eq(
    $$select from_state::text, to_state::text, reason from ops.order_events e join ops.orders o on o.id = e.order_id
       where o.client_order_id = 'mb-abcdefgh' order by e.id$$,
    $$values (null::text, 'PENDING'::text, 'intent created'::text), ('PENDING', 'SUBMITTING', 'test: submit'), ('SUBMITTING', 'RESTING', 'test: 201')$$,
    'every transition is logged with its reason');

insert into ops.fills (fill_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
values ('fill-1', 'KXHIGHNY-26NOV26-B50.5', 'bid', 0.40, 3, true, 0.06, now(), 'paper');
select throws_ok($$insert into ops.fills (fill_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
                   values ('fill-1', 'KXHIGHNY-26NOV26-B50.5', 'bid', 0.40, 3, true, 0.06, now(), 'paper')$$,
                 '23505', null, 'a fill id is recorded once');
select throws_ok($$update ops.fills set count = 30$$, '42501', null, 'the fill ledger is append-only');
select throws_ok($$delete from ops.order_events$$, '42501', null, 'order history is append-only');
select throws_ok($$insert into ops.trading_state (state) values ('ACTIVE')$$, '23505', null, 'there is one trading-state row');

select * from finish();
rollback;
