-- The error-rate breaker, REDUCING sizing (only what reduces a position, never beyond it), and the
-- staleness gate failing on a stale quote alone.
begin;
select plan(10);
\ir fixtures/nyc_ladder.sql

-- ---- error-rate breaker: error_rate_max rejects/unknowns within the window set REDUCING -----------
-- order events are stamped with the database clock, so this part runs at the database's own time
update ops.risk_limits set value = 3 where name = 'error_rate_max';
insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of)
select 'errtest|' || n, 'mb-errtest-' || n, (array['KXHIGHNY-26NOV26-T44', 'KXHIGHNY-26NOV26-B44.5', 'KXHIGHNY-26NOV26-B46.5'])[n], 'DailyHigh', 'bid', 0.10, 1, 'paper', 'paper', now()
  from generate_series(1, 3) n;
select set_config('milkbot.transition_reason', 'test', true);
update ops.orders set state = 'SUBMITTING' where intent_key like 'errtest|%';
update ops.orders set state = 'REJECTED' where intent_key in ('errtest|1', 'errtest|2');
select ops.run_cycle(clock_timestamp());
select is((select state::text from ops.trading_state), 'ACTIVE', 'two rejects (max 3) leave trading ACTIVE');
update ops.orders set state = 'UNKNOWN' where intent_key = 'errtest|3';
select is((ops.run_cycle(clock_timestamp())->>'state'), 'REDUCING', 'the third reject/unknown within the window sets REDUCING');
select ok(exists (select 1 from ops.risk_events where kind = 'error_rate_breaker' and severity = 'warning'
                    and message like 'trading REDUCING: 3 rejects or unknown outcomes within 15 minutes'),
          'recorded as a risk event with the count and the window');
select is((select changed_by from ops.trading_state), 'ops.run_cycle', 'the cycle made the change (audited)');

-- ---- REDUCING: only orders that reduce a position, and never more than the position ----------------
update ops.orders set state = 'CANCELED' where state = 'PENDING';
-- held: 10 NO on B48.5 (the bracket the model wants to buy YES on) and 10 YES on B50.5
insert into ops.fills (fill_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode) values
    ('r1', 'KXHIGHNY-26NOV26-B48.5', 'ask', 0.20, 10, true, 0, '2026-11-25 16:00Z', 'paper');
select is((ops.run_cycle('2026-11-25 18:00Z')->>'intents')::int, 1, 'REDUCING: one intent');
select results_eq($$select ticker, side, count, reduces_exposure from ops.orders where as_of = '2026-11-25 18:00Z'$$,
                  $$values ('KXHIGHNY-26NOV26-B48.5'::text, 'bid'::text, 10.00::numeric(14,2), true)$$,
                  'buying YES against 10 NO held is sized to the position (10, not the 40 it would be ACTIVE) and marked reducing');
-- with a YES position instead, buying more YES would add exposure: nothing
update ops.orders set state = 'CANCELED' where as_of = '2026-11-25 18:00Z';
insert into ops.fills (fill_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode) values
    ('r2', 'KXHIGHNY-26NOV26-B48.5', 'bid', 0.20, 30, true, 0, '2026-11-25 16:05Z', 'paper');
update ops.exchange_status set fetched_at = '2026-11-25 18:01Z';
select is((ops.run_cycle('2026-11-25 18:02Z')->>'intents')::int, 0, 'REDUCING: no intent that would add to a position');
select is((select reason from ops.signals where as_of = '2026-11-25 18:02Z' and ticker = 'KXHIGHNY-26NOV26-B48.5'),
          'trading REDUCING: order would not reduce exposure', 'and the signal says why');

-- ---- a stale quote alone fails the staleness gate (the forecast is fresh) -------------------------
update ops.trading_state set state = 'ACTIVE', reason = 'test';
update ops.exchange_status set fetched_at = '2026-11-25 18:39Z';
-- forecast fetched 17:50 (50 min old, max 120); quotes from 17:58 (42 min old, max 15)
select is((ops.run_cycle('2026-11-25 18:40Z')->>'intents')::int, 0, 'a 42-minute-old quote: no intents');
select is((select count(*)::int from ops.signals where as_of = '2026-11-25 18:40Z'
            and reason = 'staleness: quote is 00:42:00 old (max 15 min)' and (gates->'staleness'->>'pass')::boolean = false), 6,
          'every market fails the staleness gate for its quote, not its forecast');

select * from finish();
rollback;
