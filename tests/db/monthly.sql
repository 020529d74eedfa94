-- The Monthly strategy: its probability model, the enabled path with a climatology, the disabled path.
begin;
select plan(6);

-- 3.00 in so far, 10 of 30 days left, climatology mean 3.0 sd 1.5 for the month: P(total > 4.00 in)
select ok(abs(ops.monthly_probability(3.00, 4.01, null, 10, 30, 3.0, 1.5) - 0.5655864965829622) < 1e-9,
          'P(total > 4) from the truncated-normal remainder');
select ok(abs(ops.monthly_probability(3.00, null, 4.00, 10, 30, 3.0, 1.5) + ops.monthly_probability(3.00, 4.00, 4.01, 10, 30, 3.0, 1.5)
              + ops.monthly_probability(3.00, 4.01, null, 10, 30, 3.0, 1.5) - 1) < 1e-9, 'the brackets <= 4.00, 4.00-4.01 and >= 4.01 partition the outcomes');
select is(ops.monthly_probability(5.00, 4.01, null, 10, 30, 3.0, 1.5), 1::float8, 'already above the threshold: certain');
select is(ops.monthly_probability(3.00, 4.01, null, 0, 30, 3.0, 1.5), 0::float8, 'month over below the threshold: impossible');

insert into ops.exchange_status values (true, true, true, '2026-11-20 17:59Z');
insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type, floor_strike,
                         open_time, close_time, status)
values ('KXRAINNYCM-26NOV-T4', 'KXRAINNYCM-26NOV', 'KXRAINNYCM', 'NYC', '2026-11-01', 'monthly_rain', 'greater', 4,
        '2026-11-01 00:00Z', '2026-12-01 04:59Z', 'active');
select ok((select reason like 'strategy: Monthly disabled for NYC:%' and model_p is null
             from ops.evaluate_markets('2026-11-20 18:00Z') where ticker = 'KXRAINNYCM-26NOV-T4'),
          'disabled: skipped with the recorded reason, no probability');

update ops.monthly_series set series_ticker = 'KXRAINNYCM', enabled = true, reason = 'test: verified'
 where city_code = 'NYC' and kind = 'monthly_rain';
insert into ops.monthly_climatology values ('NYC', 'monthly_rain', 11, 3.0, 1.5, 'test fixture (not real normals)');
insert into ops.monthly_observed select 'NYC', 'monthly_rain', d::date, 0.15 from generate_series(date '2026-11-01', date '2026-11-19', interval '1 day') d;
-- 19 days x 0.15 = 2.85 in so far; 11 of 30 days left on Nov 20
select is((select model_p from ops.evaluate_markets('2026-11-20 18:00Z') where ticker = 'KXRAINNYCM-26NOV-T4'),
          ops.monthly_probability(2.85, 4.01, null, 11, 30, 3.0, 1.5)::numeric(10,9),
          'enabled with a climatology: priced from the month-to-date total');

select * from finish();
rollback;
