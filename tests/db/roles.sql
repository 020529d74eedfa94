-- Each app role can do what it must and nothing more (switching to the role, as PostgREST and the
-- workers do). tests/test_privileges.py pins the full matrix; this file proves the important edges.
begin;
select plan(27);

\ir fixtures/one_market.sql

-- web_anon: nothing outside api
set local role web_anon;
select throws_ok('select * from ops.orders',        '42501', null, 'web_anon cannot read ops.orders');
select throws_ok('select * from ops.cities',        '42501', null, 'web_anon cannot read ops.cities');
select throws_ok('select * from pgmq.meta',         '42501', null, 'web_anon cannot read pgmq');
select throws_ok('select * from meta.schema_migrations', '42501', null, 'web_anon cannot read meta');
select throws_ok($$select ops.heartbeat('cycle', true)$$, '42501', null, 'web_anon cannot call ops functions');
select throws_ok($$select pgmq.send('order_intents', '{}'::jsonb)$$, '42501', null, 'web_anon cannot enqueue');
reset role;

-- ingest: snapshots and market metadata, no orders, no controls
set local role milkbot_ingest;
select throws_ok($$insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of)
                   values ('intent-key-1', 'mb-abcdefgh', 'KXHIGHNY-26NOV26-B50.5', 'DailyHigh', 'bid', 0.40, 1, 'paper', 'paper', now())$$,
                 '42501', null, 'milkbot_ingest cannot insert into ops.orders');
select throws_ok('select * from ops.orders', '42501', null, 'milkbot_ingest cannot read ops.orders');
select lives_ok($$insert into ops.market_snapshots (source, ticker, fetched_at, yes_bid, yes_bid_size, yes_ask, yes_ask_size, content_hash)
                  values ('orderbook', 'KXHIGHNY-26NOV26-B50.5', now(), 0.40, 10, 0.45, 5, repeat('a', 64))$$,
                'milkbot_ingest can write a market snapshot');
select lives_ok($$update ops.markets set status = 'active', updated_at = now() where ticker = 'KXHIGHNY-26NOV26-B50.5'$$,
                'milkbot_ingest can update market metadata');
select throws_ok($$update ops.risk_limits set value = 1 where name = 'bankroll'$$, '42501', null, 'milkbot_ingest cannot edit limits');
select throws_ok($$update ops.trading_state set state = 'ACTIVE'$$, '42501', null, 'milkbot_ingest cannot touch the kill switch');
select lives_ok($$select ops.heartbeat('nws_ingest', true, 'pass ok')$$, 'milkbot_ingest can heartbeat');
select throws_ok($$select pgmq.send('order_intents', '{}'::jsonb)$$, '42501', null, 'milkbot_ingest cannot enqueue intents');
reset role;

-- executor: order state, fills, positions; not markets, not controls, not prices of orders
insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of)
values ('intent-key-1', 'mb-abcdefgh', 'KXHIGHNY-26NOV26-B50.5', 'DailyHigh', 'bid', 0.40, 1, 'paper', 'paper', now());
set local role milkbot_executor;
select lives_ok($$update ops.orders set state = 'SUBMITTING' where client_order_id = 'mb-abcdefgh'$$, 'executor can move order state');
select throws_ok($$update ops.orders set price = 0.99 where client_order_id = 'mb-abcdefgh'$$, '42501', null, 'executor cannot change an order''s price');
select throws_ok($$insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type, floor_strike, open_time, close_time, status)
                   values ('KXHIGHNY-26NOV27-T60', 'KXHIGHNY-26NOV27', 'KXHIGHNY', 'NYC', '2026-11-27', 'high', 'greater', 60, now(), now() + interval '1 day', 'active')$$,
                 '42501', null, 'executor cannot create markets');
select throws_ok($$update ops.trading_state set state = 'ACTIVE'$$, '42501', null, 'executor cannot clear the kill switch');
select throws_ok($$update ops.risk_limits set value = 1e5 where name = 'max_contracts_per_market'$$, '42501', null, 'executor cannot raise limits');
reset role;

-- operator: edits controls (bounded, audited), cannot write trading data
set local role milkbot_operator;
select lives_ok($$update ops.risk_limits set value = 40 where name = 'max_contracts_per_market'$$, 'operator can edit a limit');
select throws_ok($$update ops.risk_limits set value = 1e9 where name = 'max_contracts_per_market'$$, '23514', null, 'a limit outside its bounds is refused');
select throws_ok($$delete from ops.risk_limits where name = 'bankroll'$$, '42501', null, 'operator cannot delete limits');
select throws_ok($$update ops.orders set state = 'CANCELED'$$, '42501', null, 'operator cannot rewrite orders directly');
select lives_ok($$update ops.trading_state set state = 'HALTED', reason = 'drill'$$, 'operator can halt');
select throws_ok($$delete from ops.control_audit$$, '42501', null, 'operator cannot erase the audit trail');
select throws_ok($$insert into ops.control_audit (table_name, operation, new_row) values ('risk_limits', 'UPDATE', '{}')$$,
                 '42501', null, 'operator cannot forge an audit row');
reset role;

select results_eq(
    $$select table_name, operation, acting_role, old_row->>'value', new_row->>'value'
        from ops.control_audit where table_name = 'risk_limits' order by id$$,
    $$values ('risk_limits', 'UPDATE', 'milkbot_operator', '50', '40')$$,
    'the limit change is audited with who, old and new');

select * from finish();
rollback;
