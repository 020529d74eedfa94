-- The trading cycle end to end in SQL: one intent for the mispriced bracket, none twice, the kill
-- switch, stale inputs, the Monthly disabled path, the daily-loss breaker.
begin;
select plan(21);
\ir fixtures/nyc_ladder.sql

-- ---- a normal cycle -----------------------------------------------------------------------------
select is((ops.run_cycle('2026-11-25 18:00Z')->>'intents')::int, 1, 'one intent: the mispriced 48-49 bracket');
select results_eq(
    $$select ticker, side, price, count, state::text, mode::text from ops.orders$$,
    $$values ('KXHIGHNY-26NOV26-B48.5'::text, 'bid'::text, 0.2200::numeric(6,4), 50.00::numeric(14,2), 'PENDING'::text, 'paper'::text)$$,
    'buy 50 YES at the 0.22 ask (capped by max_contracts_per_market)');
select is((select count(*)::int from ops.signals where as_of = '2026-11-25 18:00Z'), 6, 'every market''s evaluation is recorded');
select is((select decision from ops.signals where ticker = 'KXHIGHNY-26NOV26-B46.5'), 'skip', 'a fairly priced bracket is skipped');
select ok((select (gates->'edge'->>'pass')::boolean = false and reason like 'edge:%' from ops.signals where ticker = 'KXHIGHNY-26NOV26-B46.5'),
          'for its own reason: the edge gate');
select is((select count(*)::int from pgmq.q_order_intents), 1, 'the intent and its queue message are written together');
select is((select message->>'order_id' from pgmq.q_order_intents), (select id::text from ops.orders), 'the message names the order');

-- ---- replay at the same decision time ------------------------------------------------------------
select is((ops.run_cycle('2026-11-25 18:00Z')->>'intents')::int, 0, 'running the cycle again at the same as_of creates no intent');
select is((select count(*)::int from ops.orders), 1, 'still one order');
select is((select count(*)::int from ops.signals), 6, 'and no duplicate signals');
-- a later cycle with the same target keeps the live order instead of stacking a second one
update ops.exchange_status set fetched_at = '2026-11-25 18:06Z';
select is((ops.run_cycle('2026-11-25 18:07Z')->>'intents')::int, 0, 'a later cycle with an unchanged target adds nothing');

-- ---- the target changes: the unsent intent is cancelled and replaced -------------------------------
insert into ops.market_snapshots (source, ticker, fetched_at, yes_bid, yes_bid_size, yes_ask, yes_ask_size, content_hash)
values ('orderbook', 'KXHIGHNY-26NOV26-B48.5', '2026-11-25 18:09Z', 0.19, 50, 0.23, 50, repeat('e', 64));
update ops.exchange_status set fetched_at = '2026-11-25 18:09Z';
select is((ops.run_cycle('2026-11-25 18:10Z')->>'intents')::int, 1, 'a new ask makes a new intent');
select results_eq($$select state::text, price from ops.orders order by id$$,
                  $$values ('CANCELED'::text, 0.2200::numeric(6,4)), ('PENDING', 0.2300)$$,
                  'the old unsent intent is cancelled, the new one pending');

-- ---- kill switch ---------------------------------------------------------------------------------
update ops.trading_state set state = 'HALTED', reason = 'drill';
update ops.exchange_status set fetched_at = '2026-11-25 18:19Z';
select is((ops.run_cycle('2026-11-25 18:20Z')->>'intents')::int, 0, 'HALTED: no new orders');
select is((select state::text from ops.orders order by id desc limit 1), 'CANCELED',
          'HALTED: the unsent live intent is cancelled (resting ones are the executor''s sweep: tests/test_executor.py)');
select is((select reason from ops.signals where as_of = '2026-11-25 18:20Z' and ticker = 'KXHIGHNY-26NOV26-B48.5'),
          'trading HALTED: no new orders', 'the signal says why');
update ops.trading_state set state = 'ACTIVE', reason = 'drill over';

update ops.exchange_status set fetched_at = '2026-11-25 20:59Z';
-- ---- stale weather ------------------------------------------------------------------------------
select is((ops.run_cycle('2026-11-25 21:00Z')->>'intents')::int, 0, 'forecast 3 h old: no intents');
select is((select count(*)::int from ops.signals where as_of = '2026-11-25 21:00Z' and reason like 'staleness: forecast is 03:10:00 old%'), 6,
          'every market fails the staleness gate');
select ok(exists (select 1 from ops.health_events where component = 'cycle' and level = 'warning' and message like 'stale%NYC%'),
          'and a health event names the city');

-- ---- Monthly: disabled with a recorded reason, never faked ----------------------------------------
insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type, floor_strike,
                         open_time, close_time, status)
values ('KXRAINNYCM-26NOV-T4', 'KXRAINNYCM-26NOV', 'KXRAINNYCM', 'NYC', '2026-11-01', 'monthly_rain', 'greater', 4,
        '2026-11-01 00:00Z', '2026-12-01 04:59Z', 'active');
select ops.run_cycle('2026-11-25 22:00Z');
select is((select reason from ops.signals where ticker = 'KXRAINNYCM-26NOV-T4'),
          'strategy: Monthly disabled for NYC: ' || (select reason from ops.monthly_series where city_code = 'NYC' and kind = 'monthly_rain'),
          'Monthly: a city without a verified series is skipped with its recorded reason');
select is((select model_p from ops.signals where ticker = 'KXRAINNYCM-26NOV-T4'), null, 'and no probability is invented');

select * from finish();
rollback;
