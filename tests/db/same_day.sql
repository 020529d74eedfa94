-- The same day, priced by what is left of it (issue 14, section 3). A real-shaped NYC winter day,
-- 2026-11-26 (EST = UTC-5): forecast high 50 °F; the hourly forecast peaks at 50 by 11:00 and falls
-- to 44 by midnight; the observed max reached 50.2 °F at 10:51. Decision at 14:00 EST (19:00Z).
begin;
select plan(11);
\ir fixtures/nyc_ladder.sql
-- the fixture's ladder is for Nov 26 (<=43, 44-45, 46-47, 48-49, 50-51, >=52); move the clock to that day
update ops.exchange_status set fetched_at = '2026-11-26 18:59Z';
update ops.market_snapshots set fetched_at = '2026-11-26 18:58Z';
insert into ops.weather_snapshots (source, entity, city_code, fetched_at, issued_at, content_hash, payload)
values ('nws_forecast', 'OKX/34,45', 'NYC', '2026-11-26 18:30Z', '2026-11-26 18:00Z', repeat('1', 64), '{}'),
       ('nws_hourly',   'OKX/34,45', 'NYC', '2026-11-26 18:30Z', '2026-11-26 18:00Z', repeat('2', 64), '{}'),
       ('nws_observations', 'KNYC',  'NYC', '2026-11-26 18:55Z', null,                repeat('3', 64), '{}');
insert into ops.forecasts (snapshot_id, city_code, climate_date, kind, source, forecast_f, issued_at, fetched_at, grid_id, grid_x, grid_y)
select id, 'NYC', '2026-11-26', 'high', 'forecast_12h', 50, '2026-11-26 18:00Z', '2026-11-26 18:30Z', 'OKX', 34, 45
  from ops.weather_snapshots where source = 'nws_forecast' and fetched_at = '2026-11-26 18:30Z';
-- hourly: 07:00 EST 40 °F rising to 50 at 11:00, then 49, 48, ... down to 44 at 23:00
insert into ops.hourly_temps (snapshot_id, city_code, valid_at, temp_f, fetched_at)
select s.id, 'NYC', timestamptz '2026-11-26 12:00Z' + make_interval(hours => h), v, '2026-11-26 18:30Z'
  from ops.weather_snapshots s,
       unnest(array[40, 43, 46, 48, 50, 49, 49, 48, 48, 47, 46, 46, 45, 45, 44, 44, 44]) with ordinality t(v, h0),
       lateral (select (h0 - 1)::int as h) hh
 where s.source = 'nws_hourly';
insert into ops.observations (station_icao, observed_at, city_code, climate_date, temp_c, temp_f, precision, snapshot_id)
select 'KNYC', timestamptz '2026-11-26 05:51Z' + make_interval(hours => h0::int - 1), 'NYC', '2026-11-26', round((v - 32) / 1.8, 2), v, 'tenths', s.id
  from ops.weather_snapshots s,
       unnest(array[36.0, 35.6, 36.5, 38.1, 41.0, 44.1, 47.3, 49.1, 50.2, 49.6, 48.9, 48.2, 47.5, 47.0]) with ordinality t(v, h0)
 where s.source = 'nws_observations';   -- 00:51 to 13:51 EST

create temp table p on commit drop as
select ticker, model_p, gates->'model' as model from ops.evaluate_markets('2026-11-26 19:00Z');

select ok((select model_p from p where ticker like '%B50.5') > 0.85,
          'max observed 50.2 and the rest of the day at most 48: 50-51 is near certain');
select ok((select model_p from p where ticker like '%T51') < 0.05,
          '52 or more needs the rest of the day 4 °F above its forecast: small');
select is((select sum(model_p) from p where model_p is not null and ticker like 'KXHIGHNY-26NOV26-%')::numeric(6,4), 1.0000::numeric(6,4),
          'the same-day ladder sums to 1');
select is((select model_p from p where ticker like '%B48.5'), 0.000000000::numeric(10,9),
          'below the observed max is impossible');
select ok((select model->>'note' from p where ticker like '%B50.5') ~ 'observed 50\.20? °F, rest of day max 48(\.00)? °F over 10\.0 h',
          'the signal records what the model used: the observed max and the rest-of-day max');
select is((select model->>'source' from p where ticker like '%B50.5'), 'forecast_12h', 'and the one forecast source of the city');

-- the same day seen with the old whole-day model: the truncated forecast N(50, sigma) above 50 keeps ~half its mass
-- above 51 — the error this model fixes
select ok((select ops.bracket_probability(50, 2.0, 52, null, 'high', 50.2)) > 0.15,
          'for contrast: the whole-day forecast truncated at the observed max puts > 15 % on >= 52');

-- a 6-hourly max group (1snTTT) inside the climate day counts as observed; one reaching back before midnight does not
update ops.observations set max6h_f = 52.3 where observed_at = '2026-11-26 18:51Z';
update ops.observations set max6h_f = 55.0 where observed_at = '2026-11-26 08:51Z';   -- 6 h back is 22:51 EST the day before
select ok((select model_p from ops.evaluate_markets('2026-11-26 19:00Z') where ticker like '%T51') > 0.999,
          'the 6-hour max 52.3 °F in the remarks settles >= 52 although no hourly reading reached it');
select ok((select gates->'model'->>'observed' from ops.evaluate_markets('2026-11-26 19:00Z') where ticker like '%T51') = '52.30',
          'the 6-hour group that began the day before is not used');
update ops.observations set max6h_f = null;

-- observations 3 hours old (limit 90 min): the observed part gets no weight, and the verdict says why
delete from ops.observations where observed_at > '2026-11-26 16:00Z';
select ok((select (gates->'model'->>'note') ~ 'observations stale \(newest \d+ min old, limit 90\): observed part ignored'
             and (gates->'model'->>'observed') is null
             from ops.evaluate_markets('2026-11-26 19:00Z') where ticker like '%B50.5'),
          'a stale observation is ignored and the signal says why');
select ok((select model_p from ops.evaluate_markets('2026-11-26 19:00Z') where ticker like '%B48.5') > 0.2,
          'without it, the whole-day forecast prices 48-49 again');

select * from finish();
rollback;
