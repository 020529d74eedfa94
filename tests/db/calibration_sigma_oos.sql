-- calibration_sigma_from_oos: a cell's spread from its recent errors against the fit in force when each
-- pair was decided (the misses the model really made), not the spread around the bias fitted on them.
begin;
select plan(4);

-- NYC's 12-hour forecast ran 3 °F cold on every one of twelve days (50 forecast, 53 observed), while the
-- fit in force then said bias 0, sigma 1: the new bias is +3 with no spread around it, but the model missed
-- by 3 every time
insert into ops.weather_snapshots (source, entity, city_code, fetched_at, content_hash, payload)
select 'nws_forecast', 'grid-NYC', 'NYC', d + interval '18 hours', repeat('f', 64), '{}'
  from generate_series(date '2026-11-01', date '2026-11-12', interval '1 day') d;
insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at, fetched_at, grid_id, grid_x, grid_y)
select w.id, w.city_code, (w.fetched_at::date + 1), 'high', 'forecast_12h', 50, w.fetched_at, w.fetched_at, 'OKX', 1, 1
  from ops.weather_snapshots w;
insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, max_f, min_f, raw_text)
select 'NYC', d::date, 'p-' || d::date, true, d + interval '1 day 13 hours', 53, 40, 'CLI'
  from generate_series(date '2026-11-02', date '2026-11-13', interval '1 day') d;
insert into ops.model_calibration (city_code, kind, lead_days, source, known_at, bias, sigma, n, window_days, is_prior)
values ('NYC', 'high', 0, 'forecast_12h', '2026-10-01 00:00Z', 0, 1, 30, 90, false);
update ops.strategy_params set value = 3650 where name = 'calibration_half_life_days';
update ops.strategy_params set value = 0 where name in ('calibration_prior_pairs', 'calibration_sigma_prior_pairs', 'model_t_df');
update ops.strategy_params set value = 3 where name = 'calibration_min_pairs';
update ops.strategy_params set value = 1 where name = 'min_sigma_f';

select ops.fit_calibration('2026-11-20 12:00Z');
select results_eq($$select bias, sigma from ops.model_calibration
                     where city_code = 'NYC' and lead_days = 0 and source = 'forecast_12h' and known_at = '2026-11-20 12:00Z'$$,
                  $$values (3.000::numeric(6,3), 1.000::numeric(6,3))$$,
                  'off (the default): the spread around the new bias, none (the floor, 1)');

update ops.strategy_params set value = 1 where name = 'calibration_sigma_from_oos';
select ops.fit_calibration('2026-11-20 13:00Z');
select results_eq($$select bias, sigma from ops.model_calibration
                     where city_code = 'NYC' and lead_days = 0 and source = 'forecast_12h' and known_at = '2026-11-20 13:00Z'$$,
                  $$values (3.000::numeric(6,3), 3.000::numeric(6,3))$$,
                  'on: the misses against the bias then in force (0), 3 °F each time');
select is((select oos_n from ops.model_calibration
            where city_code = 'NYC' and lead_days = 0 and source = 'forecast_12h' and known_at = '2026-11-20 13:00Z'), 12,
          'judged on the twelve recent pairs');

-- fewer recent pairs than calibration_min_pairs (an 8-day window holds one): the in-sample spread
update ops.strategy_params set value = 8 where name = 'calibration_oos_days';
select ops.fit_calibration('2026-11-20 14:00Z');
select results_eq($$select sigma, oos_n from ops.model_calibration
                     where city_code = 'NYC' and lead_days = 0 and source = 'forecast_12h' and known_at = '2026-11-20 14:00Z'$$,
                  $$values (1.000::numeric(6,3), 1)$$,
                  'one recent pair of the three needed: the spread around the new bias, not the misses');
select * from finish();
rollback;
