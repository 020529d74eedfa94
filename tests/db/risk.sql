-- Gates one by one, worst-case loss across a ladder, and the breakers.
begin;
select plan(28);
\ir fixtures/nyc_ladder.sql

-- ---- each gate passes and fails for its own reason --------------------------------------------
select ok((ops.gate_spread(0.40, 0.45, 0.10)).pass, 'spread 0.05 passes max 0.10');
select is((ops.gate_spread(0.30, 0.45, 0.10)).reason, 'spread 0.15 > max 0.10', 'spread 0.15 fails');
select is((ops.gate_spread(null, 0.45, 0.10)).reason, 'no two-sided quote', 'a missing side fails the spread gate');
select ok((ops.gate_liquidity(20, 100, 100, 5, 0, 0)).pass, 'size 20 at best passes min 5');
select is((ops.gate_liquidity(3, 100, 100, 5, 0, 0)).reason, 'size 3 at best < min 5', 'size 3 fails');
select is((ops.gate_liquidity(20, 10, 100, 5, 50, 0)).reason, 'open interest 10 < min 50', 'open interest floor');
select ok((ops.gate_edge(0.05, 0.03)).pass, 'edge 0.05 passes min 0.03');
select is((ops.gate_edge(0.01, 0.03)).reason, 'edge 0.0100 < min 0.03', 'edge 0.01 fails');
select ok((ops.gate_staleness('2026-11-25 17:50Z', '2026-11-25 17:58Z', '2026-11-25 18:00Z', 120, 15)).pass, 'fresh inputs pass');
select is((ops.gate_staleness('2026-11-25 17:50Z', '2026-11-25 17:30Z', '2026-11-25 18:00Z', 120, 15)).reason,
          'quote is 00:30:00 old (max 15 min)', 'a 30-minute-old quote fails');
select ok((ops.gate_timing('2026-11-25 18:00Z', '2026-11-25 15:00Z', '2026-11-27 04:59Z', 30, true, true, '2026-11-25 17:59Z')).pass, 'open market passes timing');
select is((ops.gate_timing('2026-11-27 04:40Z', '2026-11-25 15:00Z', '2026-11-27 04:59Z', 30, true, true, '2026-11-27 04:39Z')).reason,
          'within 30 min of close (2026-11-27 04:59:00+00)', 'near close fails');
select is((ops.gate_timing('2026-11-26 09:00Z', '2026-11-25 15:00Z', '2026-11-27 04:59Z', 30, true, true, '2026-11-26 08:59Z')).reason,
          'weekly maintenance window', 'Thursday 04:00 ET is maintenance');
select is((ops.gate_timing('2026-11-25 18:00Z', '2026-11-25 15:00Z', '2026-11-27 04:59Z', 30, true, true, null)).reason,
          'exchange status unknown', 'unknown exchange status fails closed');
select is((ops.gate_timing('2026-11-25 18:00Z', '2026-11-25 15:00Z', '2026-11-27 04:59Z', 30, true, true, '2026-11-25 17:40Z')).reason,
          'exchange status unknown', 'a 20-minute-old exchange status fails the default 15 minutes');
select ok((ops.gate_timing('2026-11-25 18:00Z', '2026-11-25 15:00Z', '2026-11-27 04:59Z', 30, true, true, '2026-11-25 17:40Z', 30)).pass,
          'and passes max_status_age_min 30');
select ok((ops.gate_sanity(0.30, 0.22, '[{"start":"0.01","end":"0.99","step":"0.01"}]', 0.97)).pass, 'price on the cent grid passes');
select is((ops.gate_sanity(0.30, 0.225, '[{"start":"0.01","end":"0.99","step":"0.01"}]', 0.97)).reason,
          'price 0.225 is off the market grid', 'a sub-cent price fails on a cent grid');
select ok(ops.taker_fee(0.50, 1) = 0.02 and ops.taker_fee(0.50, 100) = 1.75 and ops.taker_fee(0.10, 10) = 0.07,
          'taker fee rounds 0.07·C·P·(1−P) up to the cent');

-- ---- worst-case loss across the ladder, not a sum of per-market losses -------------------------
-- NO 10 on 48-49 and NO 10 on 50-51, each bought at 0.60 per NO: per-market worst losses sum to 12,
-- but both can lose only if... they cannot: one bracket wins, so the worst case is losing one: 2.
insert into ops.fills (fill_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode) values
    ('f1', 'KXHIGHNY-26NOV26-B48.5', 'ask', 0.40, 10, true, 0, '2026-11-25 16:00Z', 'paper'),
    ('f2', 'KXHIGHNY-26NOV26-B50.5', 'ask', 0.40, 10, true, 0, '2026-11-25 16:00Z', 'paper');
select is((select worst_case_loss from ops.event_worst_case_loss('2026-11-25 18:00Z', 'paper') where event_ticker = 'KXHIGHNY-26NOV26'),
          2.00::numeric, 'worst-case loss of two NO positions on one ladder is 2, not 12');
-- The cycle sizes with what is held: B48.5 (the only mispriced bracket) holds 10 NO, so buying YES first
-- closes those (a YES+NO pair pays $1): the market cap allows 50 - (-10) = 60 YES, and the 50 displayed at
-- the ask bind. The net position after it fills is +40, within the cap of 50.
select is((ops.run_cycle('2026-11-25 18:00Z')->>'intents')::int, 1, 'the cycle runs with existing exposure: one intent');
select is((select array[side, price::text, count::text] from ops.orders where ticker = 'KXHIGHNY-26NOV26-B48.5'),
          array['bid', '0.2200', '50.00'], 'the displayed size binds: 50');
select ok((select held = -10 and reason like '%market cap 60%book 50%' from ops.signals where ticker = 'KXHIGHNY-26NOV26-B48.5' and as_of = '2026-11-25 18:00Z'),
          'the signal shows what is held (-10) and the caps: market cap 60 (50 + the 10 NO it closes), book 50');
-- A tight event limit binds: $5 worst case across the ladder allows 12 YES at 0.22 on top of the NOs, not 13.
select set_config('milkbot.transition_reason', 'test: cleared', true);
update ops.orders set state = 'CANCELED';
update ops.risk_limits set value = 5 where name = 'max_event_loss';
select ops.run_cycle('2026-11-25 18:01Z');
select is((select count from ops.orders where ticker = 'KXHIGHNY-26NOV26-B48.5' and state = 'PENDING'), 12.00::numeric, 'max_event_loss binds: 12 contracts');
select ok((select worst_case_loss <= 5 from ops.event_worst_case_loss('2026-11-25 18:01Z', 'paper') where event_ticker = 'KXHIGHNY-26NOV26'),
          'worst case with the order counted as filled stays within max_event_loss');
update ops.risk_limits set value = 50 where name = 'max_event_loss';

-- ---- daily loss breaker: halts, and stays halted until an operator clears it ---------------------
update ops.risk_limits set value = 5 where name = 'daily_loss_limit';
insert into ops.fills (fill_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode) values
    ('f3', 'KXHIGHNY-26NOV26-T51', 'bid', 0.50, 40, true, 0.70, '2026-11-25 18:30Z', 'paper');
-- bought 40 YES at 0.50; the bid is 0.06 -> marked loss ~18
select ok((select (ops.run_cycle('2026-11-25 18:40Z')->>'state') = 'HALTED'), 'a marked loss beyond the limit halts trading');
select ok((select state = 'HALTED' and changed_by = 'ops.run_cycle' from ops.trading_state)
          and exists (select 1 from ops.risk_events where kind = 'daily_loss_breaker' and severity = 'critical'),
          'the halt is recorded as a critical risk event');
update ops.risk_limits set value = 1000 where name = 'daily_loss_limit';
select ops.run_cycle('2026-11-25 18:50Z');
select is((select state::text from ops.trading_state), 'HALTED', 'the cycle never clears a HALT, even when the loss is back within limits');

select * from finish();
rollback;
