-- The per-event cycle (issue 25 §3): the same ops.run_cycle for the named events only -- their signals,
-- orders and cancels -- with every limit still computed across all events.
begin;
select plan(8);
\ir fixtures/nyc_ladder.sql

select is((ops.run_cycle('2026-11-25 18:00Z', array['KXHIGHNY-26NOV27'])->>'intents')::int, 0, 'another event: no intent');
select is((select count(*)::int from ops.signals where as_of = '2026-11-25 18:00Z'), 0, 'and no signal of this one');
select is((ops.run_cycle('2026-11-25 18:00:01Z', array['KXHIGHNY-26NOV26'])->>'intents')::int, 1,
          'its own event: the same one intent the sweep makes');
select results_eq($$select ticker, side, price, count from ops.orders$$,
                  $$values ('KXHIGHNY-26NOV26-B48.5'::text, 'bid'::text, 0.2200::numeric(6,4), 50.00::numeric(14,2))$$,
                  'buy 50 YES at 0.22 (capped by max_contracts_per_market), as the full cycle does (tests/db/cycle.sql)');
select is_empty($$select * from ops.replay_cycle('2026-11-25 18:00:01Z')$$, 'replayed exactly: the replay evaluates the same event');

-- a cycle for another event leaves this event's live order alone, even with its market gone quiet
update ops.exchange_status set fetched_at = '2026-11-25 18:30Z';
select is((ops.run_cycle('2026-11-25 18:31Z', array['KXHIGHNY-26NOV27'])->>'cancels')::int, 0,
          'another event''s cycle cancels nothing here (the quote is stale by now)');
select is((select state::text from ops.orders), 'PENDING', 'the order stands');
-- the sweep does re-decide it
select is((ops.run_cycle('2026-11-25 18:32Z')->>'cancels')::int, 1, 'the sweep cancels it (stale quote: no longer a target)');

select * from finish();
rollback;
