-- The per-event cycle's limits (issue 25 §3): it reads the outcomes of its own events and of every event
-- where the book holds or works anything -- the others pay 0 in every outcome and add nothing to a limit --
-- so it sizes exactly as the sweep does. Seen failing with the outcomes of the named events only (the
-- other event's exposure unseen: the per-event order came out larger than the cluster allows).
begin;
select plan(6);
\ir fixtures/nyc_ladder.sql

-- another NYC event (Northeast) holding 100 YES at 0.40: worst case -40; and a Boston event, untouched
insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                         floor_strike, cap_strike, open_time, close_time, status, open_interest, volume)
values ('KXHIGHNY-26NOV27-T50', 'KXHIGHNY-26NOV27', 'KXHIGHNY', 'NYC', '2026-11-27', 'high', 'less', null, 50,
        '2026-11-26 15:00Z', '2026-11-28 04:59Z', 'active', 500, 2000),
       ('KXHIGHNY-26NOV27-T49', 'KXHIGHNY-26NOV27', 'KXHIGHNY', 'NYC', '2026-11-27', 'high', 'greater', 49, null,
        '2026-11-26 15:00Z', '2026-11-28 04:59Z', 'active', 500, 2000),
       ('KXHIGHTBOS-26NOV26-T50', 'KXHIGHTBOS-26NOV26', 'KXHIGHTBOS', 'BOS', '2026-11-26', 'high', 'less', null, 50,
        '2026-11-25 15:00Z', '2026-11-27 04:59Z', 'active', 500, 2000),
       ('KXHIGHTBOS-26NOV26-T49', 'KXHIGHTBOS-26NOV26', 'KXHIGHTBOS', 'BOS', '2026-11-26', 'high', 'greater', 49, null,
        '2026-11-25 15:00Z', '2026-11-27 04:59Z', 'active', 500, 2000);
insert into ops.fills (fill_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode) values
    ('x1', 'KXHIGHNY-26NOV27-T50', 'bid', 0.40, 100, true, 0, '2026-11-25 16:00Z', 'paper');

select set_eq($$select distinct event_ticker from ops.event_outcomes('2026-11-25 18:00Z', 'paper', true, '{}', array['KXHIGHNY-26NOV26'])$$,
              array['KXHIGHNY-26NOV26', 'KXHIGHNY-26NOV27'],
              'outcomes of the named event and of the event holding a position; not of the untouched Boston event');
select set_eq($$select * from ops.event_outcomes('2026-11-25 18:00Z', 'paper', true, '{}', array['KXHIGHNY-26NOV26'])$$,
              $$select * from ops.event_outcomes('2026-11-25 18:00Z', 'paper') where event_ticker in ('KXHIGHNY-26NOV26', 'KXHIGHNY-26NOV27')$$,
              'each of those exactly as the whole book''s outcomes have it');
select set_eq($$select distinct event_ticker from ops.event_outcomes('2026-11-25 18:00Z', 'paper')$$,
              array['KXHIGHNY-26NOV26', 'KXHIGHNY-26NOV27', 'KXHIGHTBOS-26NOV26'], 'null: every unsettled event');

-- the Northeast may lose 45: 40 are taken by the other event, 5 are left for the mispriced bracket
update ops.risk_limits set value = 45 where name = 'max_cluster_exposure';
-- what the sweep does, kept in psql variables across the rollback
savepoint sweep;
select ops.run_cycle('2026-11-25 18:00Z') \gset
select count(*) as swept_n, min(ticker) as s_ticker, min(side) as s_side, min(price) as s_price, min(count) as s_count
  from ops.orders \gset
rollback to savepoint sweep;

select is((ops.run_cycle('2026-11-25 18:00Z', array['KXHIGHNY-26NOV26'])->>'intents')::int, 1, 'the per-event cycle places one order');
select results_eq($$select 1::bigint, ticker, side, price, count from ops.orders$$,
                  format('values (%s::bigint, %L::text, %L::text, %L::numeric(6,4), %L::numeric(14,2))',
                         :swept_n, :'s_ticker', :'s_side', :'s_price', :'s_count'),
                  'the very order the sweep places: sized by the room the other event left');
select is((select sizing->>'bound' from ops.signals where ticker = 'KXHIGHNY-26NOV26-B48.5'), 'cluster',
          'the cluster limit is what bound it');

select * from finish();
rollback;
