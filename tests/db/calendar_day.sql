-- The quantity that settles is the calendar-day extreme, midnight to midnight in local standard time
-- (issue 24 §1). Real-shaped NYC days (EST = UTC-5), decided the day before at 2026-11-25 18:00Z (lead 1):
-- the daytime forecast (gridpoint, the fixture's 48 °F) covers about 06-18 only; the hourly forecast,
-- stored by ingest as the whole day's max/min (source 'hourly', complete days only), covers all 24 hours.
begin;
select plan(9);
\ir fixtures/nyc_ladder.sql
insert into ops.weather_snapshots (source, entity, city_code, fetched_at, issued_at, grid_id, grid_x, grid_y, content_hash, payload)
values ('nws_hourly', 'OKX/34,45', 'NYC', '2026-11-25 17:52Z', '2026-11-25 17:00Z', 'OKX', 34, 45, repeat('e', 64), '{}');

create function pg_temp.hourly(p_kind text, p_f numeric) returns void language sql as $$
    delete from ops.forecasts where source = 'hourly';
    insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at, fetched_at, grid_id, grid_x, grid_y)
    select id, 'NYC', '2026-11-26', p_kind, 'hourly', p_f, '2026-11-25 17:00Z', '2026-11-25 17:52Z', 'OKX', 34, 45
      from ops.weather_snapshots where source = 'nws_hourly';
$$;
create function pg_temp.m() returns table (mu double precision, note text) language sql as $$
    select mu, note from ops.model_inputs('2026-11-25 18:00Z') where city_code = 'NYC' and climate_date = '2026-11-26' and kind = 'high';
$$;
create function pg_temp.p(p_suffix text) returns numeric language sql as $$
    select model_p from ops.evaluate_markets('2026-11-25 18:00Z') where ticker = 'KXHIGHNY-26NOV26-' || p_suffix;
$$;

-- an ordinary day: the hourly's whole-day max (47, its afternoon hour) is below the daytime high: nothing changes
select pg_temp.hourly('high', 47);
select is((select mu from pg_temp.m()), 48::float8, 'an ordinary day: the daytime forecast 48 °F (bias 0) is the day''s');
select ok((select note from pg_temp.m()) !~ 'whole climate day', 'and the note says nothing of the night');

-- the high set at 00:41 EST: a warm night ahead of a cold front, 52 °F at midnight falling to 45 by noon
-- (the hourly's 00:00-01:00 hour is the day's warmest); the daytime period saw 48
select pg_temp.hourly('high', 52);
select is((select mu from pg_temp.m()), 52::float8, 'a high at 00:41: the hourly''s night 52 °F is the day''s forecast');
select ok((select note from pg_temp.m()) ~ 'whole climate day: the hourly forecast''s high 52(\.0+)? °F \(outside the daytime period\) decides',
          'and the signal''s note says the night decided it');
select ok(pg_temp.p('T51') > pg_temp.p('B46.5'), '52 or more is now likelier than 46-47, the old forecast''s bracket');

-- the high set at 23:50 EST: warm air arriving late in the evening (the 23:00 hour at 53 °F)
select pg_temp.hourly('high', 53);
select is((select mu from pg_temp.m()), 53::float8, 'a high at 23:50: the evening''s 53 °F is the day''s forecast');

-- a stale or old hourly is not used (the daytime forecast stands, as before)
update ops.forecasts set is_stale = true where source = 'hourly';
select is((select mu from pg_temp.m()), 48::float8, 'a stale hourly forecast is not used');
update ops.forecasts set is_stale = false, fetched_at = '2026-11-25 12:00Z' where source = 'hourly';
update ops.strategy_params set value = 120 where strategy = 'all' and name = 'max_weather_age_min';
select is((select mu from pg_temp.m()), 48::float8, 'nor one older than max_weather_age_min');

-- the low: a cold evening after the front (the 23:00 hour at 30 °F) under an overnight low of 36
update ops.forecasts set fetched_at = '2026-11-25 17:52Z' where source = 'hourly';
insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at, fetched_at, grid_id, grid_x, grid_y)
select id, 'NYC', '2026-11-26', 'low', 'gridpoint', 36, '2026-11-25 17:00Z', '2026-11-25 17:50Z', 'OKX', 34, 45
  from ops.weather_snapshots where source = 'nws_gridpoint';
select pg_temp.hourly('low', 30);
select is((select mu from ops.model_inputs('2026-11-25 18:00Z') where city_code = 'NYC' and climate_date = '2026-11-26' and kind = 'low'),
          30::float8, 'a low at 23:50: the evening''s 30 °F, not the night before''s 36, is the day''s forecast');

select * from finish();
rollback;
