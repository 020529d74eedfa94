-- Calibration learns from truths known at the decision time only, is versioned by when it became known,
-- shrinks toward a pooled prior, and re-fits by itself; operator views answer.
begin;
select plan(16);
\ir fixtures/nyc_ladder.sql

-- 12 days of NYC finals (Nov 2-13), each with the forecast we held at 00:00 EST of the day (fetched at
-- 18:00Z the day before): errors alternate +1 / +3 (mean 2, population sd 1). Each final lands at 13:00Z
-- the next day.
insert into ops.weather_snapshots (source, entity, city_code, fetched_at, content_hash, payload)
select 'nws_forecast', 'OKX/34,45', 'NYC', d + interval '18 hours', repeat('f', 64), '{}'
  from generate_series(date '2026-11-01', date '2026-11-12', interval '1 day') d;
insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at, fetched_at, grid_id, grid_x, grid_y)
select w.id, 'NYC', (w.fetched_at::date + 1), 'high', 'forecast_12h', 50, w.fetched_at, w.fetched_at, 'OKX', 34, 45
  from ops.weather_snapshots w where w.fetched_at between '2026-11-01' and '2026-11-13' and w.source = 'nws_forecast';
insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, max_f, min_f, raw_text)
select 'NYC', d::date, 'p-' || d::date, true, d + interval '1 day 13 hours',
       50 + case when extract(day from d)::int % 2 = 0 then 1 else 3 end, 40, 'CLINYC'
  from generate_series(date '2026-11-02', date '2026-11-13', interval '1 day') d;

-- no recency weighting, no shrinkage: the fit is the plain mean and sd of the errors
update ops.strategy_params set value = 3650 where name = 'calibration_half_life_days';
update ops.strategy_params set value = 0 where name = 'calibration_prior_pairs';
update ops.strategy_params set value = 0 where name = 'model_t_df';
update ops.strategy_params set value = 3 where name = 'calibration_min_pairs';
select is(ops.fit_calibration('2026-11-20 12:00Z'), 10, 'one cell per enabled city (high, lead 0): the pooled fit reaches cities without data');
select results_eq($$select bias, sigma, n, is_prior, dist from ops.model_calibration
                     where city_code = 'NYC' and kind = 'high' and lead_days = 0 and known_at = '2026-11-20 12:00Z'$$,
                  $$values (2.000::numeric(6,3), 1.000::numeric(6,3), 12, false, 'normal')$$,
                  'bias = mean(truth - forecast) = +2, sigma = sd = 1 over the 12 pairs');
select results_eq($$select bias, n from ops.model_calibration where city_code = 'BOS' and kind = 'high' and lead_days = 0 and known_at = '2026-11-20 12:00Z'$$,
                  $$values (2.000::numeric(6,3), 0)$$, 'a city with no pairs of its own takes the pooled fit');
select is((select count(*)::int from ops.forecast_pairs where city_code = 'NYC' and lead_days = 0), 12,
          'the forecast held at each decision point is frozen as a pair');

-- only truths known at the fit time: at Nov 8 12:00Z the finals of Nov 2-6 have landed (Nov 7's lands at 13:00Z)
select ok(ops.fit_calibration('2026-11-08 12:00Z') > 0, 'an earlier fit');
select is((select n from ops.model_calibration where city_code = 'NYC' and lead_days = 0 and known_at = '2026-11-08 12:00Z'), 5,
          'a fit sees only the truths known at its own time');

-- shrinkage: with many prior pairs the city's bias is pulled to the pooled one, itself pulled to the prior (0)
update ops.strategy_params set value = 1000 where name = 'calibration_prior_pairs';
select ops.fit_calibration('2026-11-21 12:00Z');
select ok((select abs(bias) < 0.1 from ops.model_calibration where city_code = 'NYC' and lead_days = 0 and known_at = '2026-11-21 12:00Z'),
          'few pairs against a heavy prior: the bias stays near the prior');
delete from ops.model_calibration where known_at = '2026-11-21 12:00Z';
update ops.strategy_params set value = 0 where name = 'calibration_prior_pairs';

-- versioned by known_at: a decision a minute before the fit prices with the prior, a minute after with the fit.
-- The fixture's market is NYC Nov 26 (lead 1; forecast fetched 17:50Z): give lead 1 a fit known at 17:55Z.
insert into ops.model_calibration (city_code, kind, lead_days, known_at, bias, sigma, n, window_days, dist, mean_age_h)
values ('NYC', 'high', 1, '2026-11-25 17:55Z', 2, 1.5, 40, 120, 'normal', 12);
select is((select model_p from ops.evaluate_markets('2026-11-25 17:54Z') where ticker = 'KXHIGHNY-26NOV26-B48.5'),
          ops.bracket_probability(48.0, 2.5, 48, 49)::numeric(10,9), 'before the fit was known: the prior (48 ± 2.5)');
select is((select model_p from ops.evaluate_markets('2026-11-25 18:00Z') where ticker = 'KXHIGHNY-26NOV26-B48.5'),
          ops.bracket_probability(50.0, 1.5, 48, 49)::numeric(10,9), 'after: the fit (centre = forecast 48 + bias 2, sigma 1.5)');

-- the cycle re-fits by itself when a truth lands after the newest fit, and only then
select ok(ops.refit_calibration_if_due('2026-11-25 17:30Z') = 0
          and not exists (select 1 from ops.calibration_runs where at = '2026-11-25 17:30Z'), 'no truth since the last fit: no re-fit');
insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, max_f, min_f, raw_text)
values ('NYC', '2026-11-24', 'p-2026-11-24', true, '2026-11-25 17:40Z', 52, 41, 'CLINYC');
select ok(ops.refit_calibration_if_due('2026-11-25 17:45Z') > 0, 'a new final: the next cycle re-fits');
select is((select fitted_at from ops.v_calibration where city = 'NYC' and kind = 'high' and lead = 0 and source = 'forecast_12h'), '2026-11-25 17:45Z'::timestamptz,
          'v_calibration shows the fit in force');

-- Brier: the last pre-close probability against the outcome
select ops.run_cycle('2026-11-25 18:00Z');
update ops.markets set status = 'finalized', result = case when ticker like '%B48.5' then 'yes' else 'no' end
 where event_ticker = 'KXHIGHNY-26NOV26';
select ok(abs((select brier from ops.v_model_brier where city_code = 'NYC' and kind = 'high')
          - (select avg(power(model_p - case when ticker like '%B48.5' then 1 else 0 end, 2)) from ops.signals)) < 1e-6,
          'Brier score per city from settled markets');
select is((select count(*)::int from ops.v_signals where as_of = '2026-11-25 18:00Z'
             and num_nulls(strategy_ok, timing_ok, staleness_ok, spread_ok, liquidity_ok, sanity_ok, edge_ok) = 0), 6,
          'v_signals shows all seven gates for every market');

-- a re-fit that fails (a fault injected by a trigger) is recorded, and the cycle still decides on the fit in force
update ops.markets set status = 'active', result = '' where event_ticker = 'KXHIGHNY-26NOV26';
create function pg_temp.fail() returns trigger language plpgsql as $$ begin raise exception 'injected fault'; end $$;
create trigger fail_fit before insert on ops.model_calibration for each row execute function pg_temp.fail();
insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, max_f, min_f, raw_text)
values ('NYC', '2026-11-25', 'p-2026-11-25', true, '2026-11-25 18:30Z', 50, 41, 'CLINYC');
select lives_ok($$select ops.run_cycle('2026-11-25 18:40Z')$$, 'a failing re-fit does not stop the cycle');
select ok((select count(*) = 6 from ops.signals where as_of = '2026-11-25 18:40Z' and model_p is not null)
          and exists (select 1 from ops.health_events where component = 'cycle' and message = 'calibration re-fit failed, the previous fit stays in force: injected fault'),
          'it is recorded as a health event and the markets are still priced');

select * from finish();
rollback;
