-- The bias correction must earn its keep out of sample (issue 24 §2). Two cities over 40 days of daily
-- highs, fitted every day as the live system does (each fit sees only the truths known then):
--   NYC: the forecast runs 3 °F cold for 20 days, then 1 °F warm (Denver's Dec -> Feb, compressed): the
--        recency-weighted correction keeps carrying the old regime and loses to no correction;
--   BOS: 3 °F cold all along: the correction earns its keep and stays on.
begin;
select plan(9);

insert into ops.weather_snapshots (source, entity, city_code, fetched_at, content_hash, payload)
select 'nws_forecast', c || '/1,1', c, d + interval '18 hours', repeat('f', 64), '{}'
  from generate_series(date '2026-10-01', date '2026-11-09', interval '1 day') d, unnest(array['NYC', 'BOS']) c;
insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at, fetched_at, grid_id, grid_x, grid_y)
select w.id, w.city_code, (w.fetched_at::date + 1), 'high', 'forecast_12h', 50, w.fetched_at, w.fetched_at, 'OKX', 1, 1
  from ops.weather_snapshots w where w.source = 'nws_forecast';
-- truths land at 13:00Z the next day; errors: +3 (+/- 1 noise), NYC turning to -1 after Oct 21
insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, max_f, min_f, raw_text)
select c, d::date, 'p-' || c || d::date, true, d + interval '1 day 13 hours',
       50 + case when c = 'NYC' and d > date '2026-10-21' then -1 else 3 end
          + case when extract(day from d)::int % 2 = 0 then 1 else -1 end, 40, 'CLI' || c
  from generate_series(date '2026-10-02', date '2026-11-10', interval '1 day') d, unnest(array['NYC', 'BOS']) c;

update ops.strategy_params set value = 0 where name = 'model_t_df';
update ops.strategy_params set value = 5 where name = 'calibration_min_pairs';
update ops.strategy_params set value = 14 where name = 'calibration_oos_days';
update ops.strategy_params set value = 1 where name = 'calibration_oos_switch';   -- (off by default: see the README)
-- a fit every day at 14:00Z, after that day's truth has landed
select count(ops.fit_calibration(d + interval '14 hours')) from generate_series(date '2026-10-03', date '2026-11-11', interval '1 day') d;

select is((select bias_off from ops.v_calibration where city = 'BOS' and kind = 'high' and lead = 0 and source = 'forecast_12h'), false,
          'BOS, cold by 3 °F all along: the correction stays on');
select ok((select bias between 2 and 4 from ops.v_calibration where city = 'BOS' and kind = 'high' and lead = 0 and source = 'forecast_12h'),
          'and it is applied (about +3 °F)');
select ok((select oos_crps < oos_crps_raw from ops.v_calibration where city = 'BOS' and kind = 'high' and lead = 0 and source = 'forecast_12h'),
          'because out of sample it scored better than no correction');
select is((select bias_off from ops.v_calibration where city = 'NYC' and kind = 'high' and lead = 0 and source = 'forecast_12h'), true,
          'NYC after its regime turned: the correction that still carries the old one is switched off');
select results_eq($$select bias, fitted_bias > 0 from ops.v_calibration where city = 'NYC' and kind = 'high' and lead = 0 and source = 'forecast_12h'$$,
                  $$values (0.000::numeric(6,3), true)$$, 'the model applies 0; the fitted (stale, positive) bias is kept beside it');
select ok((select verdict from ops.v_calibration where city = 'NYC' and kind = 'high' and lead = 0 and source = 'forecast_12h')
              ~ '^bias correction OFF: out of sample it scored CRPS [0-9.]+ °F against [0-9.]+ °F uncorrected over [0-9]+ pairs',
          'and v_calibration says so, with the figures');
select is((select mu from ops.model_inputs('2026-11-10 06:00Z') where city_code = 'NYC' and kind = 'high' and climate_date = '2026-11-10'),
          50::float8, 'the model then prices NYC''s next day on the raw forecast (50 °F), not 50 + the stale correction');
-- rolling origin: the first fits had no earlier fit to judge by: not judged, correction on
select is((select bias_off from ops.model_calibration where city_code = 'NYC' and kind = 'high' and lead_days = 0
            order by known_at limit 1), false, 'the first fit, with nothing out of sample yet, keeps its correction');

-- with the switch at its default (0) the same history is judged and shown, not switched
update ops.strategy_params set value = 0 where name = 'calibration_oos_switch';
select ops.fit_calibration('2026-11-11 15:00Z');
select ok((select not bias_off and bias > 0 and verdict ~ 'worse than none, kept because calibration_oos_switch is 0'
             from ops.v_calibration where city = 'NYC' and kind = 'high' and lead = 0 and source = 'forecast_12h'),
          'switch off (the default): NYC keeps its correction and v_calibration says it scored worse than none');

select * from finish();
rollback;
