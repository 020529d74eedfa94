-- Fresh beats stale (issue 23 §1.6): the city's chosen source (the 12-hour product) is fresh for tomorrow
-- but two hours old for today, while a fresh gridpoint forecast for today exists: the model uses it.
begin;
select plan(3);

insert into ops.weather_snapshots (source, entity, city_code, fetched_at, issued_at, grid_id, grid_x, grid_y, content_hash, payload)
values ('nws_forecast', 'OKX/1,1/12h-old', 'NYC', '2026-11-25 16:00Z', '2026-11-25 15:30Z', 'OKX', 1, 1, repeat('a', 64), '{}'),
       ('nws_forecast', 'OKX/1,1/12h-new', 'NYC', '2026-11-25 17:55Z', '2026-11-25 17:30Z', 'OKX', 1, 1, repeat('b', 64), '{}'),
       ('nws_gridpoint', 'OKX/1,1/grid', 'NYC', '2026-11-25 17:50Z', '2026-11-25 17:00Z', 'OKX', 1, 1, repeat('c', 64), '{}');
insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at, fetched_at, grid_id, grid_x, grid_y)
select id, 'NYC', date '2026-11-25', 'high', 'forecast_12h'::ops.forecast_source, 40, timestamptz '2026-11-25 15:30Z',
       timestamptz '2026-11-25 16:00Z', 'OKX', 1, 1
  from ops.weather_snapshots where entity = 'OKX/1,1/12h-old'
union all
select id, 'NYC', '2026-11-26', 'high', 'forecast_12h', 52, '2026-11-25 17:30Z', '2026-11-25 17:55Z', 'OKX', 1, 1
  from ops.weather_snapshots where entity = 'OKX/1,1/12h-new'
union all
select id, 'NYC', '2026-11-25', 'high', 'gridpoint', 44, '2026-11-25 17:00Z', '2026-11-25 17:50Z', 'OKX', 1, 1
  from ops.weather_snapshots where entity = 'OKX/1,1/grid';

select is((select city_source::text from ops.forecasts_at('2026-11-25 18:30Z', 'NYC') limit 1), 'forecast_12h',
          'the city''s source is the 12-hour product (fresh for tomorrow)');
select is((select source::text || ' ' || forecast_f from ops.forecasts_at('2026-11-25 18:30Z', 'NYC')
            where climate_date = '2026-11-25' and kind = 'high'), 'gridpoint 44.00',
          'today: its 12-hour row is 2.5 h old, the fresh gridpoint forecast is used');
select is((select source::text || ' ' || forecast_f from ops.forecasts_at('2026-11-25 18:30Z', 'NYC')
            where climate_date = '2026-11-26' and kind = 'high'), 'forecast_12h 52.00',
          'tomorrow: the city''s source, fresh');

select * from finish();
rollback;
