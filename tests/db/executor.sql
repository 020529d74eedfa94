-- What happens to an order now: the executor's decisions in SQL (db/functions/ops/executor.sql), run as
-- the executor role, against the rules of issue 13.
begin;
select plan(34);
\ir fixtures/one_market.sql

create function pg_temp.intent(p_key text, p_mode ops.trading_mode default 'demo', p_tif text default 'immediate_or_cancel')
returns bigint language sql as $$
    -- each intent its own market (one live order per market)
    insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                             floor_strike, cap_strike, open_time, close_time, status)
    values ('KXHIGHNY-26NOV26-' || upper(p_key), 'KXHIGHNY-26NOV26', 'KXHIGHNY', 'NYC', '2026-11-26', 'high', 'between',
            50, 51, '2026-11-25 15:00Z', '2026-11-27 04:59Z', 'active');
    insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of, time_in_force)
    values ('test|intent|' || p_key, 'mb-' || md5(p_key), 'KXHIGHNY-26NOV26-' || upper(p_key), 'DailyHigh', 'bid', 0.40, 10, p_mode, 'fake',
            '2026-11-25 18:00Z', p_tif)
    returning id $$;
create function pg_temp.state(p_id bigint) returns text language sql as $$ select state::text from ops.orders where id = p_id $$;
create function pg_temp.listing(p_coid text, p_status text, p_fill numeric, p_remaining numeric, p_xid text default 'x-1')
returns jsonb language sql as $$
    select jsonb_build_array(jsonb_build_object('order_id', p_xid, 'client_order_id', p_coid, 'ticker', 'KXHIGHNY-26NOV26-B50.5',
           'side', 'bid', 'price', 0.40, 'status', p_status, 'fill_count', p_fill, 'remaining_count', p_remaining,
           'initial_count', 10, 'created_time', '2026-11-25 18:00Z')) $$;
grant execute on all functions in schema pg_temp to milkbot_executor;

-- ---- claiming an intent ------------------------------------------------------------------------
select pg_temp.intent('a') as a \gset
select pg_temp.intent('b') as b \gset
select pg_temp.intent('c', 'paper') as c \gset
set local role milkbot_executor;
select is((select action from ops.claim_intent(:a, 'demo', '2026-11-25 18:00:05Z')), 'submit', 'a current intent is claimed for sending');
select is(pg_temp.state(:a), 'SUBMITTING', 'and SUBMITTING is recorded before the POST');
select is((select action || ': ' || reason from ops.claim_intent(:c, 'demo', '2026-11-25 18:00:05Z')),
          'skip: intent made for paper mode, executor runs demo', 'an intent of another book is not sent');
select is(pg_temp.state(:c), 'CANCELED', 'and is cancelled with that reason');
select is((select action from ops.claim_intent(:a, 'demo', '2026-11-25 18:00:09Z')), 'unknown',
          'claimed again while SUBMITTING (a run died mid-send): unknown, never sent again');
select is(pg_temp.state(:a), 'UNKNOWN', 'the order is UNKNOWN');
reset role;
update ops.trading_state set state = 'HALTED', reason = 'test';
set local role milkbot_executor;
select is((select reason from ops.claim_intent(:b, 'demo', '2026-11-25 18:00:05Z')), 'kill switch: trading HALTED', 'the kill switch wins');
reset role;
update ops.trading_state set state = 'ACTIVE', reason = 'test';

-- ---- the exchange's weekly maintenance: nothing is sent (a reject would count toward the breaker) ------
select pg_temp.intent('m') as m \gset
set local role milkbot_executor;
select is((select action || ': ' || reason from ops.claim_intent(:m, 'demo', '2026-11-26 08:30Z')),   -- Thursday 03:30 EST
          'skip: exchange weekly maintenance window', 'an intent claimed inside the maintenance window is not sent');
reset role;
select is(pg_temp.state(:m), 'CANCELED', 'and is cancelled with that reason');

-- ---- recording what the POST answered -----------------------------------------------------------
select pg_temp.intent('d') as d \gset
select pg_temp.intent('e') as e \gset
set local role milkbot_executor;
select action from ops.claim_intent(:d, 'demo', '2026-11-25 18:00:05Z');
select action from ops.claim_intent(:e, 'demo', '2026-11-25 18:00:05Z');
select is(ops.record_submit(:d, 201, true, 'x-d', 4, 0, null, '{}', '2026-11-25 18:00:06Z')::text, 'CANCELED',
          'IOC filled 4 of 10: the rest is gone, the order is final');
select is((select filled_count from ops.orders where id = :d), 4.00::numeric, 'with its 4 filled');
select is(ops.record_submit(:e, 409, true, null, 0, null, '409 order_already_exists', null, '2026-11-25 18:00:06Z')::text, 'UNKNOWN',
          '409: an order with our id exists; the listing decides');

-- ---- the exchange's listing is the truth --------------------------------------------------------
select ok((ops.apply_exchange_listing('2026-11-25 18:00:07Z', 'demo', '[]')->>'absent_reads')::int = 2,
          'UNKNOWN orders not listed get one absent read each');
select is(pg_temp.state(:e), 'UNKNOWN', 'one read is not proof: still UNKNOWN');
select ops.apply_exchange_listing('2026-11-25 18:00:30Z', 'demo', '[]');
select ops.apply_exchange_listing('2026-11-25 18:01:00Z', 'demo', '[]');
select is(pg_temp.state(:e), 'UNKNOWN', 'three reads within the grace period (120 s) are not proof either');
select ops.apply_exchange_listing('2026-11-25 18:02:10Z', 'demo', '[]');
select is(pg_temp.state(:e), 'ABSENT_PRESUMED', 'enough reads spanning the grace period: presumed absent');
select is(ops.apply_exchange_listing('2026-11-25 18:03:00Z', 'demo',
          pg_temp.listing((select client_order_id from ops.orders where id = :e), 'resting', 3, 7, 'x-e'))->>'found', '1',
          'it appears after all');
select is(pg_temp.state(:e) || ' ' || (select filled_count || '/' || exchange_order_id from ops.orders where id = :e),
          'PARTIALLY_FILLED 3.00/x-e', 'and is adopted with the exchange''s fills and id');
select ok((ops.apply_exchange_listing('2026-11-25 18:03:00Z', 'demo', pg_temp.listing('mb-lost-row', 'resting', 0, 10, 'x-lost'))->>'adopted')::int = 1,
          'an order with our prefix we have no row for is adopted');
select ok((select cancel_requested_at is not null and state = 'RESTING' from ops.orders where client_order_id = 'mb-lost-row'),
          'as RESTING and withdrawn, so the sweep cancels it');
select ok((ops.apply_exchange_listing('2026-11-25 18:03:00Z', 'demo', pg_temp.listing('someone-else', 'resting', 0, 10, 'x-foreign'))->>'foreign')::int = 1,
          'a resting order that is not ours raises a risk event');
reset role;
select is((select severity from ops.risk_events where kind = 'foreign_order'), 'critical', 'a critical one');

-- ---- cancels: what SQL answers ------------------------------------------------------------------
update ops.trading_state set state = 'HALTED', reason = 'test';
set local role milkbot_executor;
select set_eq($$select coalesce(order_id::text, exchange_order_id) from ops.orders_to_cancel('2026-11-25 18:04:00Z', 'demo',
                   pg_temp.listing('someone-else', 'resting', 0, 10, 'x-foreign'))$$,
              format($$values ('%s'), ('%s'), ('x-foreign')$$, :e, (select id from ops.orders where client_order_id = 'mb-lost-row')),
              'HALTED: every resting order of ours and everything the exchange lists as resting');
reset role;
update ops.trading_state set state = 'ACTIVE', reason = 'test';

-- ---- a fill recorded before its order was known is linked when it is ---------------------------
select pg_temp.intent('f', 'demo', 'good_till_canceled') as f \gset
insert into ops.fills (fill_id, exchange_order_id, order_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
values ('early-fill', 'x-f', null, 'KXHIGHNY-26NOV26-B50.5', 'bid', 0.40, 6, true, 0.11, '2026-11-25 18:00:08Z', 'demo');
select is((select out_of_band from ops.v_fills where fill_id = 'early-fill'), true, 'unknown order: out of band for now');
set local role milkbot_executor;
select action from ops.claim_intent(:f, 'demo', '2026-11-25 18:00:05Z');
select ops.apply_exchange_listing('2026-11-25 18:05:00Z', 'demo',
       pg_temp.listing((select client_order_id from ops.orders where id = :f), 'resting', 6, 4, 'x-f'));
select ops.sync_fills_into_orders();
reset role;
select is((select order_id from ops.v_fills where fill_id = 'early-fill'), :f::bigint, 'linked to its order once known (the ledger untouched)');
select is((select state::text || ' ' || filled_count from ops.orders where id = :f), 'PARTIALLY_FILLED 6.00', 'and counted in the order');

-- ---- a decrease is a target total, sent as reduce_by ------------------------------------------------
select is(ops.request_decrease(:f, 2, '2026-11-25 18:05:30Z'), 8.00::numeric, 'the cycle keeps 2 beyond the 6 filled: target total 8');
set local role milkbot_executor;
select is((select reduce_by from ops.decreases_to_send('demo') where order_id = :f), 2.00::numeric,
          'sent as reduce_by = count 10 - target 8: fills racing it cannot leave more than 8');
select ops.mark_decrease_sent(:f, '2026-11-25 18:05:31Z');
select is((select count(*) from ops.decreases_to_send('demo') where order_id = :f), 0::bigint,
          'not sent again before a newer listing (a lost reply may have applied it)');
select is(ops.record_decrease(:f, 2, 1, '{}'), 8.00::numeric, 'the exchange removed 2 and says 1 is left');
reset role;
select is((select state::text || ' ' || count || ' ' || filled_count || ' ' || coalesce(decrease_to::text, 'none') from ops.orders where id = :f),
          'PARTIALLY_FILLED 8.00 7.00 none', 'count 8 (the target), 7 filled at the exchange (one raced the decrease), nothing pending');

-- ---- HTTP answers are classified here, not in the worker ------------------------------------------
select is(array[ops.submit_outcome(201), ops.submit_outcome(201, false), ops.submit_outcome(409), ops.submit_outcome(400),
                ops.submit_outcome(404), ops.submit_outcome(408), ops.submit_outcome(429), ops.submit_outcome(500),
                ops.submit_outcome(null)],
          array['accepted', 'unknown', 'duplicate', 'rejected', 'rejected', 'unknown', 'unknown', 'unknown', 'unknown'],
          'submit outcomes by HTTP status (null = no reply)');

-- ---- the kill switch's time is set by a trigger ------------------------------------------------------
update ops.trading_state set changed_at = '2000-01-01Z', changed_by = 'someone' where true;
update ops.trading_state set state = 'HALTED', reason = 'kill switch as the README writes it';
select ok((select changed_at = now() and changed_by = session_user from ops.trading_state),
          'a state change without a time gets now() and the login user');
update ops.trading_state set state = 'ACTIVE', reason = 'test';
select is((select count(*) from ops.event_worst_case_loss(now())), (select count(*) from ops.event_worst_case_loss(now(), 'paper', true)),
          'the README example ops.event_worst_case_loss(now(), mode) runs as written');

select * from finish();
rollback;
