-- Every market counts in the limits, and only shapes the model prices complete a ladder (issue 23 §1.8, §1.12).
begin;
select plan(5);
\ir fixtures/one_market.sql

-- a Monthly rain market with a fill: its exposure is inside the event / cluster / total worst case
insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                         floor_strike, cap_strike, open_time, close_time, status)
values ('KXRAINNYCM-26NOV-3', 'KXRAINNYCM-26NOV', 'KXRAINNYCM', 'NYC', '2026-11-30', 'monthly_rain', 'greater',
        3, null, '2026-11-01 15:00Z', '2026-12-01 04:59Z', 'active');
insert into ops.fills (fill_id, exchange_order_id, order_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
values ('m1', 'x-m1', null, 'KXRAINNYCM-26NOV-3', 'bid', 0.30, 10, true, 0.15, '2026-11-25 18:00Z', 'paper'),
       ('m2', 'x-m2', null, 'KXRAINNYCM-26NOV-3', 'ask', 0.30, 4, true, 0.06, '2026-11-25 18:01Z', 'paper');
-- 10 YES at 0.30 and 4 NO at 0.70, fees 0.21: spent 6.01; pays 10 if it wins, 4 if it loses -> worst -2.01
select is((select worst_case_loss from ops.event_worst_case_loss('2026-11-25 19:00Z', 'paper') where event_ticker = 'KXRAINNYCM-26NOV'),
          2.01::numeric, 'a Monthly market''s fills count at their worst case in its event');
select is((select worst_case_loss from ops.v_exposure where mode = 'paper' and level = 'total'), 2.01::numeric,
          'and in the total');

-- a daily ladder covering every integer, plus a market of a shape the model does not price
insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                         floor_strike, cap_strike, open_time, close_time, status)
values ('KXHIGHNY-26NOV26-T50', 'KXHIGHNY-26NOV26', 'KXHIGHNY', 'NYC', '2026-11-26', 'high', 'less', null, 50,
        '2026-11-25 15:00Z', '2026-11-27 04:59Z', 'active'),
       ('KXHIGHNY-26NOV26-T51', 'KXHIGHNY-26NOV26', 'KXHIGHNY', 'NYC', '2026-11-26', 'high', 'greater', 51, null,
        '2026-11-25 15:00Z', '2026-11-27 04:59Z', 'active');
select is((select count(*) from ops.event_outcomes('2026-11-25 19:00Z', 'paper') where event_ticker = 'KXHIGHNY-26NOV26' and outcome_ticker is null),
          0::bigint, 'a ladder covering every integer has no "none of them" outcome');
insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type,
                         floor_strike, cap_strike, open_time, close_time, status)
values ('KXHIGHNY-26NOV26-F1', 'KXHIGHNY-26NOV26', 'KXHIGHNY', 'NYC', '2026-11-26', 'high', 'functional', null, null,
        '2026-11-25 15:00Z', '2026-11-27 04:59Z', 'active');
select is((select count(*) from ops.event_outcomes('2026-11-25 19:00Z', 'paper') where event_ticker = 'KXHIGHNY-26NOV26' and outcome_ticker is null),
          1::bigint, 'a market of a shape without bounds makes the ladder incomplete, not complete');
select is((select gates->'strategy'->>'reason' from ops.evaluate_markets('2026-11-25 19:00Z') where ticker = 'KXHIGHNY-26NOV26-F1'),
          'market shape functional is not one the model prices', 'and it is refused at evaluation, with the reason');

select * from finish();
rollback;
