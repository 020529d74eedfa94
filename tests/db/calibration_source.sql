-- One forecast product per calibration cell (issue 24 §1): NYC's 12-hour forecast ran 3 °F cold while its
-- gridpoint forecast ran 1 °F warm; a fit pooled over both corrects each by +1 (wrong by 2 °F both ways).
-- Each product gets its own fit, and the model reads the fit of the product it is using.
begin;
select plan(9);

-- NYC, Nov 2-7: only the 12-hour product (forecast 50, final 53: error +3); Nov 8-13: only the gridpoint
-- product (forecast 50, final 49: error -1). Each forecast fetched at 18:00Z the day before; finals land
-- at 13:00Z the day after.
insert into ops.weather_snapshots (source, entity, city_code, fetched_at, content_hash, payload)
select case when d < '2026-11-07' then 'nws_forecast' else 'nws_gridpoint' end::ops.weather_source,
       'OKX/34,45', 'NYC', d + interval '18 hours', repeat('f', 64), '{}'
  from generate_series(date '2026-11-01', date '2026-11-12', interval '1 day') d;
insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at, fetched_at, grid_id, grid_x, grid_y)
select w.id, 'NYC', (w.fetched_at::date + 1), 'high',
       case w.source when 'nws_forecast' then 'forecast_12h' else 'gridpoint' end::ops.forecast_source,
       50, w.fetched_at, w.fetched_at, 'OKX', 34, 45
  from ops.weather_snapshots w where w.city_code = 'NYC';
insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, max_f, min_f, raw_text)
select 'NYC', d::date, 'p-' || d::date, true, d + interval '1 day 13 hours',
       case when d < '2026-11-08' then 53 else 49 end, 40, 'CLINYC'
  from generate_series(date '2026-11-02', date '2026-11-13', interval '1 day') d;

-- plain means: no recency weighting, no shrinkage
update ops.strategy_params set value = 3650 where name = 'calibration_half_life_days';
update ops.strategy_params set value = 0 where name = 'calibration_prior_pairs';
update ops.strategy_params set value = 0 where name = 'model_t_df';
update ops.strategy_params set value = 3 where name = 'calibration_min_pairs';

select is(ops.fit_calibration('2026-11-20 12:00Z'), 20, 'one cell per enabled city and product (high, lead 0): 10 cities x 2 products');
select results_eq($$select source::text, count(*)::int from ops.forecast_pairs where city_code = 'NYC' group by 1 order by 1$$,
                  $$values ('forecast_12h', 6), ('gridpoint', 6)$$, 'each pair records the product the model held');
select results_eq($$select source::text, bias, n from ops.model_calibration
                     where city_code = 'NYC' and kind = 'high' and lead_days = 0 and known_at = '2026-11-20 12:00Z' order by source$$,
                  $$values ('forecast_12h', 3.000::numeric(6,3), 6), ('gridpoint', -1.000::numeric(6,3), 6)$$,
                  'each product its own bias: +3 for the 12-hour forecast, -1 for the gridpoint (pooled they would both get +1)');
select results_eq($$select source::text, bias, n from ops.model_calibration
                     where city_code = 'BOS' and kind = 'high' and lead_days = 0 and known_at = '2026-11-20 12:00Z' order by source$$,
                  $$values ('forecast_12h', 3.000::numeric(6,3), 0), ('gridpoint', -1.000::numeric(6,3), 0)$$,
                  'a city without pairs takes each product''s pooled fit');

-- the model reads the fit of the product it uses: NYC Nov 21 (lead 0) from a fresh gridpoint forecast only ...
insert into ops.weather_snapshots (source, entity, city_code, fetched_at, content_hash, payload)
values ('nws_gridpoint', 'OKX/34,45', 'NYC', '2026-11-21 11:00Z', repeat('b', 64), '{}');
insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at, fetched_at, grid_id, grid_x, grid_y)
select id, 'NYC', '2026-11-21', 'high', 'gridpoint', 60, fetched_at, fetched_at, 'OKX', 34, 45
  from ops.weather_snapshots where fetched_at = '2026-11-21 11:00Z';
select results_eq($$select source::text, bias, mu from ops.model_inputs('2026-11-21 12:00Z') where city_code = 'NYC' and kind = 'high' and climate_date = '2026-11-21'$$,
                  $$values ('gridpoint', -1.000::numeric, 59::float8)$$, 'a gridpoint forecast is corrected by the gridpoint fit (60 - 1)');
-- ... then a fresh 12-hour forecast (the product the model prefers) for the same day
insert into ops.weather_snapshots (source, entity, city_code, fetched_at, content_hash, payload)
values ('nws_forecast', 'OKX/34,45', 'NYC', '2026-11-21 11:30Z', repeat('c', 64), '{}');
insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at, fetched_at, grid_id, grid_x, grid_y)
select id, 'NYC', '2026-11-21', 'high', 'forecast_12h', 60, fetched_at, fetched_at, 'OKX', 34, 45
  from ops.weather_snapshots where fetched_at = '2026-11-21 11:30Z';
select results_eq($$select source::text, bias, mu from ops.model_inputs('2026-11-21 12:00Z') where city_code = 'NYC' and kind = 'high' and climate_date = '2026-11-21'$$,
                  $$values ('forecast_12h', 3.000::numeric, 63::float8)$$, 'a 12-hour forecast by the 12-hour fit (60 + 3)');
-- a product with no fit of its own (the hourly forecast) falls back to the fit for any product: the prior
insert into ops.weather_snapshots (source, entity, city_code, fetched_at, content_hash, payload)
values ('nws_hourly', 'OKX/34,45', 'CHI', '2026-11-21 11:40Z', repeat('d', 64), '{}');
insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at, fetched_at, grid_id, grid_x, grid_y)
select id, 'CHI', '2026-11-21', 'high', 'hourly', 40, fetched_at, fetched_at, 'LOT', 1, 1
  from ops.weather_snapshots where fetched_at = '2026-11-21 11:40Z';
select results_eq($$select source::text, bias, note like '%(prior)%' from ops.model_inputs('2026-11-21 12:00Z') where city_code = 'CHI' and kind = 'high' and climate_date = '2026-11-21'$$,
                  $$select 'hourly', bias, true from ops.model_calibration where city_code = 'CHI' and kind = 'high' and lead_days = 0 and is_prior$$,
                  'a product without a fit of its own: the seeded prior (for any product), and the note says so');

-- the operator's view: one row per product, the prior as "any"
select results_eq($$select source, bias from ops.v_calibration where city = 'NYC' and kind = 'high' and lead = 0 order by source$$,
                  $$values ('any', 0.000::numeric(6,3)), ('forecast_12h', 3.000::numeric(6,3)), ('gridpoint', -1.000::numeric(6,3))$$,
                  'v_calibration shows the fit in force per product');

-- out of sample per product: each pair judged by the fit of its own product in force when it was decided
select ok((select count(*) = 2 from ops.model_calibration where city_code = 'NYC' and kind = 'high' and lead_days = 0
            and known_at = '2026-11-20 12:00Z' and oos_n = 0), 'no earlier product fit: nothing judged yet');
select * from finish();
rollback;
