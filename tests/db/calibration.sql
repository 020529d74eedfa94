-- Calibration re-fits from CLI finals; Brier score per city; operator views answer.
begin;
select plan(7);
\ir fixtures/nyc_ladder.sql

-- 12 days of NYC finals, each with the forecast we held the day before: errors alternate +1 / +3.
insert into ops.weather_snapshots (source, entity, city_code, fetched_at, content_hash, payload)
select 'nws_gridpoint', 'OKX/34,45', 'NYC', d + interval '18 hours', repeat('f', 64), '{}'
  from generate_series(date '2026-11-01', date '2026-11-12', interval '1 day') d;
insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at, fetched_at, grid_id, grid_x, grid_y)
select w.id, 'NYC', (w.fetched_at::date + 1), 'high', 'gridpoint', 50, w.fetched_at, w.fetched_at, 'OKX', 34, 45
  from ops.weather_snapshots w where w.fetched_at between '2026-11-01' and '2026-11-13';
insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, max_f, min_f, raw_text)
select 'NYC', d::date, 'p-' || d::date, true, d + interval '1 day 8 hours',
       50 + case when extract(day from d)::int % 2 = 0 then 1 else 3 end, 40, 'CLINYC'
  from generate_series(date '2026-11-02', date '2026-11-13', interval '1 day') d;

select is(ops.fit_calibration('2026-11-20 12:00Z'), 1, 'one cell (NYC high, lead 1) has enough pairs');
select results_eq($$select bias, n, is_prior from ops.model_calibration where city_code = 'NYC' and kind = 'high' and lead_days = 1 and fitted_on = '2026-11-20'$$,
                  $$values (2.000::numeric(6,3), 12, false)$$, 'bias = mean(final - forecast) = +2 over 12 pairs');
select ok((select sigma between 1.0 and 1.1 from ops.model_calibration where city_code = 'NYC' and kind = 'high' and lead_days = 1 and fitted_on = '2026-11-20'),
          'sigma = sample sd of the errors (~1.04)');
select is((select model_p from ops.evaluate_markets('2026-11-25 18:00Z') where ticker = 'KXHIGHNY-26NOV26-B50.5'),
          ops.bracket_probability(50.0, (select sigma from ops.model_calibration where city_code = 'NYC' and kind = 'high' and lead_days = 1 and fitted_on = '2026-11-20')::float8, 50, 51)::numeric(10,9),
          'the cycle prices with the newest fit (centre = forecast 48 + bias 2)');

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
select is((select state::text from ops.v_trading_state), 'ACTIVE', 'v_trading_state answers');

select * from finish();
rollback;
