-- The Monthly strategy (issue 27 §3-§4): the gamma arithmetic, the compound model from the month to
-- date, the CLI normal and the gridpoint PoP/QPF, a passed threshold certain and never sold, the nested
-- ladder's outcomes in the limits, and a Monthly order sized inside every limit.
begin;
select plan(26);

-- ---- the gamma distribution against closed forms ------------------------------------------------
select ok(abs(ops.gamma_q(1, 2.5) - exp(-2.5)) < 1e-12, 'Q(1, x) = exp(-x)');
select ok(abs(ops.gamma_q(4, 3.2) - exp(-3.2) * (1 + 3.2 + 3.2 * 3.2 / 2 + 3.2 * 3.2 * 3.2 / 6)) < 1e-12,
          'Q(n, x) is the Poisson tail (series side, x < a + 1)');
select ok(abs(ops.gamma_q(3, 9.5) - exp(-9.5) * (1 + 9.5 + 9.5 * 9.5 / 2)) < 1e-12, 'and on the continued-fraction side');
select ok(abs(ops.gamma_q(0.5, 1.3) - 2 * (1 - ops.norm_cdf(sqrt(2 * 1.3)))) < 1e-9, 'Q(1/2, x) = erfc(sqrt x)');
select ok(abs(exp(ops.ln_gamma(0.3)) - 2.991568987687591) < 1e-12 and abs(exp(ops.ln_gamma(7)) - 720) < 1e-9,
          'ln Γ by Lanczos, reflected below 1/2');

-- ---- the remaining total: one wet-or-dry day is exact, bounds are certain ---------------------------
-- one day wet with p = 0.4, amount gamma(k = 0.75, mean 0.5): P(S > 0.3) = 0.4 Q(0.75, 0.3 * 0.75 / 0.5)
select ok(abs(ops.monthly_exceed(0.3, 0.6, 0.4 * 0.5, 0.4 * 0.25 * (1 + 1 / 0.75) - 0.04) - 0.4 * ops.gamma_q(0.75, 0.45)) < 1e-12,
          'a single Bernoulli-gamma day: the moment fit is the exact distribution');
select is(ops.monthly_exceed(-0.005, 0.9, 0.1, 0.05), 1::float8, 'a threshold already passed: certain');
select is(ops.monthly_exceed(0.005, 1, 0, 0), 0::float8, 'nothing left to fall and not passed: impossible');
select throws_ok($$select ops.monthly_exceed(0.1, 1.2, 0.1, 0.05)$$, '22023', null, 'bad inputs are refused, not priced');

\ir fixtures/nyc_rain_month.sql
-- ---- the model's inputs ------------------------------------------------------------------------
select results_eq($$select mtd_in, days_observed, days_unknown, days_forecast, normal_day_in, normal_source
                     from ops.monthly_model('2026-11-20 18:00Z')$$,
                  $$values (2.85::numeric, 19, 11, 7, 0.1211::numeric, 'CLI normal to 2026-11-19, extrapolated'::text)$$,
                  'month to date from the finals known then; 11 days to come, 7 of them forecast; the CLI normal to date extrapolated');
-- mean: the 7 QPFs (0.85 in), the two dry-forecast days' PoP x one step, and climatology for 4 days and
-- the 13 hours of today before the forecast (4 + 13/24 days x 0.1211 in)
select ok(abs((select mean_in from ops.monthly_model('2026-11-20 18:00Z')) - (0.85 + 0.10 * 0.01 + 0.05 * 0.01 + (4 + 13 / 24.0) * 0.1211)) < 1e-9,
          'the remaining mean: the forecast where it exists, the normal elsewhere');
select is((select mtd_in from ops.monthly_model('2026-11-20 06:00Z')), 2.70::numeric,
          'as of the early morning the 19th''s final was not yet known: 2.70 in');
insert into ops.monthly_climatology (city_code, kind, month, mean_in, source) values ('NYC', 'monthly_rain', 11, 4.00, 'test normals');
select is((select normal_day_in from ops.monthly_model('2026-11-20 18:00Z')), round((4.00 - 2.30) / 11, 4),
          'with a month normal: the month''s normal minus the CLI normal to date, over the days left');
delete from ops.monthly_climatology;
-- a day forecast wet with no PoP is wet for certain: the month cannot stay dry, and nothing breaks
insert into ops.precip_forecasts (snapshot_id, city_code, climate_date, source, pop, qpf_in, snow_in, hours, issued_at, fetched_at)
select snapshot_id, city_code, '2026-11-27', source, null, 0.30, 0, 24, issued_at, fetched_at
  from ops.precip_forecasts where climate_date = '2026-11-26';
select ok((select p_dry = 0 and mean_in > 0 from ops.monthly_model('2026-11-20 18:00Z')),
          'a wet day without a PoP: P(no more rain) = 0, no ln(0)');
delete from ops.precip_forecasts where climate_date = '2026-11-27';

-- ---- prices, a passed threshold, the gates ---------------------------------------------------------
insert into ops.market_snapshots (source, ticker, fetched_at, yes_bid, yes_bid_size, yes_ask, yes_ask_size, content_hash)
select 'orderbook', 'KXRAINNYCM-26NOV-' || x, '2026-11-20 17:58Z', b, 200, a, 200, repeat('d', 64)
  from (values (2, 0.93, 0.96), (3, 0.88, 0.92), (4, 0.38, 0.41), (5, 0.20, 0.24)) v(x, b, a);
create temp table ev as select * from ops.evaluate_markets('2026-11-20 18:00Z');
select is((select model_p from ev where ticker = 'KXRAINNYCM-26NOV-2'), 1::numeric, 'above 2 in with 2.85 in fallen: p = 1');
select is((select side from ev where ticker = 'KXRAINNYCM-26NOV-2'), 'bid', 'and its NO side is never the choice');
select is((select model_p from ev where ticker = 'KXRAINNYCM-26NOV-4'),
          (select ops.monthly_market_p('greater', 4, null, 0.01, m.mtd_in, m.p_dry, m.mean_in, m.var_in)::numeric(10,9)
             from ops.monthly_model('2026-11-20 18:00Z') m),
          'above 4 in: P(remaining > 4.005 - 2.85)');
select ok((select bool_and(a.model_p > b.model_p) from ev a join ev b on b.ticker = 'KXRAINNYCM-26NOV-' || (right(a.ticker, 1)::int + 1)),
          'the ladder is monotone: a higher threshold is less likely');
select ok((select (gates->'model'->>'mtd_in')::numeric = 2.85 and gates->'model'->>'note' like '2.85 in over 19 of 30 days%'
             and (gates->'staleness'->>'pass')::boolean from ev where ticker = 'KXRAINNYCM-26NOV-4'),
          'the model''s inputs are recorded on the signal; the forecast keeps it fresh');

-- ---- the cycle: the best edge is bought within every limit; nothing is sold on a passed threshold --------
update ops.risk_limits set value = 12 where name = 'max_event_loss';
select is((ops.run_cycle('2026-11-20 18:00Z')->>'intents')::int, 1, 'one intent on the Monthly ladder');
select results_eq($$select ticker, side, price, count from ops.orders$$,
                  $$values ('KXRAINNYCM-26NOV-4'::text, 'bid'::text, 0.4100::numeric(6,4), 27.00::numeric(14,2))$$,
                  'YES above 4 in at the ask, 27 contracts: floor(12 / (0.41 + fee 0.02)) under the event limit of $12');
select is((select max(greatest(0, -base_payoff)) from ops.event_outcomes('2026-11-20 18:00Z', 'paper')
            where event_ticker = 'KXRAINNYCM-26NOV'),
          (select 27 * (0.41 + ops.fee_per_contract(0.41, 1))), 'the ladder''s worst case counts the order: below 4 in, it loses');
select ok(not exists (select 1 from ops.signals where ticker = 'KXRAINNYCM-26NOV-2' and side = 'ask'),
          'the passed threshold is never bought NO');
select ok(exists (select 1 from ops.explain('KXRAINNYCM-26NOV-4', '2026-11-20 18:00Z') l
                   where l like '  Model (Monthly): 2.85 in over 19 of 30 days observed%'),
          '`milkbot explain` tells the month so far and what is to come');

-- ---- the nested ladder's outcomes are exact: YES above 3 and NO above 5 win together (fills only) -------
insert into ops.fills (fill_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode) values
    ('m1', 'KXRAINNYCM-26NOV-3', 'bid', 0.90, 10, true, 0, '2026-11-20 12:00Z', 'paper'),
    ('m2', 'KXRAINNYCM-26NOV-5', 'ask', 0.20, 10, true, 0, '2026-11-20 12:00Z', 'paper');
select results_eq($$select coalesce(outcome_ticker, 'none'), base_payoff from ops.event_outcomes('2026-11-20 18:00Z', 'paper', false)
                     where event_ticker = 'KXRAINNYCM-26NOV' order by 2, 1$$,
                  $$values ('KXRAINNYCM-26NOV-2'::text, -7::numeric), ('KXRAINNYCM-26NOV-5', -7), ('none', -7),
                           ('KXRAINNYCM-26NOV-3', 3), ('KXRAINNYCM-26NOV-4', 3)$$,
                  'payoff per highest threshold passed: YES>3 (paid $9) and NO>5 (paid $8) both win between 3 and 5 in (+$3), one of them otherwise (-$7)');

-- ---- scored as the thresholds settle -------------------------------------------------------------
update ops.markets set result = case when floor_strike <= 3 then 'yes' else 'no' end, status = 'finalized'
 where event_ticker = 'KXRAINNYCM-26NOV';
insert into ops.signals (as_of, ticker, strategy, model_p, decision, reason, gates)
values ('2026-11-30 12:00Z', 'KXRAINNYCM-26NOV-5', 'Monthly', 0.10, 'skip', 'test', '{"world": {"market_p": 0.30}}'),
       ('2026-12-01 06:00Z', 'KXRAINNYCM-26NOV-5', 'Monthly', 0.99, 'skip', 'after the close: not scored', '{}');
select results_eq($$select markets, yes_rate, brier_model, brier_market, with_market_p from ops.v_monthly_calibration$$,
                  $$values (4::bigint, 0.500::numeric, round((0 + (1 - 0.959411845)^2 + 0.493988474^2 + 0.1^2) / 4, 4),
                           round((0.055^2 + 0.1^2 + 0.395^2 + 0.3^2) / 4, 4), 4::bigint)$$,
                  'settled thresholds scored on the last model p before the close, the market''s mid beside it');

select * from finish();
rollback;
