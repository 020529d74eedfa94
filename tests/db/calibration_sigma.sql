-- A city's sigma shrinks toward its product's pooled sigma with its own weight
-- (calibration_sigma_prior_pairs), apart from the bias's (calibration_prior_pairs).
begin;
select plan(3);

-- NYC and BOS, one product (the 12-hour forecast, 50 °F): NYC's errors alternate 0 / +2 (sd 1), BOS's
-- -2 / +4 (sd 3); both biases +1
insert into ops.weather_snapshots (source, entity, city_code, fetched_at, content_hash, payload)
select 'nws_forecast', 'grid-' || c, c, d + interval '18 hours', repeat('f', 64), '{}'
  from generate_series(date '2026-11-01', date '2026-11-12', interval '1 day') d cross join (values ('NYC'), ('BOS')) x(c);
insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at, fetched_at, grid_id, grid_x, grid_y)
select w.id, w.city_code, (w.fetched_at::date + 1), 'high', 'forecast_12h', 50, w.fetched_at, w.fetched_at, 'OKX', 1, 1
  from ops.weather_snapshots w;
insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, max_f, min_f, raw_text)
select c, d::date, 'p-' || c || d::date, true, d + interval '1 day 13 hours',
       50 + case when extract(day from d)::int % 2 = 0 then lo else hi end, 40, 'CLI'
  from generate_series(date '2026-11-02', date '2026-11-13', interval '1 day') d
 cross join (values ('NYC', 0, 2), ('BOS', -2, 4)) x(c, lo, hi);
update ops.strategy_params set value = 3650 where name = 'calibration_half_life_days';
update ops.strategy_params set value = 0 where name = 'calibration_prior_pairs';
update ops.strategy_params set value = 0 where name = 'model_t_df';
update ops.strategy_params set value = 3 where name = 'calibration_min_pairs';

update ops.strategy_params set value = 0 where name = 'calibration_sigma_prior_pairs';
select ops.fit_calibration('2026-11-20 12:00Z');
select results_eq($$select bias, sigma from ops.model_calibration where city_code = 'NYC' and known_at = '2026-11-20 12:00Z'$$,
                  $$values (1.000::numeric(6,3), 1.000::numeric(6,3))$$, 'no sigma pseudo-pairs: NYC''s own spread (sd 1)');
update ops.strategy_params set value = 1000 where name = 'calibration_sigma_prior_pairs';
select ops.fit_calibration('2026-11-20 13:00Z');
select ok((select abs(sigma - sqrt(5)) < 0.05 and bias = 1 from ops.model_calibration where city_code = 'NYC' and known_at = '2026-11-20 13:00Z'),
          'a heavy sigma pull: the product''s pooled spread (sqrt((1 + 9) / 2)), the bias untouched');
select ok((select abs(sigma - sqrt(5)) < 0.05 from ops.model_calibration where city_code = 'BOS' and known_at = '2026-11-20 13:00Z'),
          'and BOS''s (sd 3) pulled to the same pooled spread');
select * from finish();
rollback;
