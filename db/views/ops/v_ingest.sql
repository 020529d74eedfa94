-- Operator views over what ingest landed (README: "Operator views").

create or replace view ops.v_latest_forecast as
select distinct on (f.city_code, f.climate_date, f.kind)
       f.city_code as city, f.climate_date, f.kind, f.forecast_f, f.source, f.issued_at, f.fetched_at, f.is_stale,
       f.grid_id || '/' || f.grid_x || ',' || f.grid_y as grid
  from ops.forecasts f
 order by f.city_code, f.climate_date, f.kind, f.fetched_at desc, f.source = 'gridpoint' desc;
comment on view ops.v_latest_forecast is 'Newest forecast per city, climate day (local standard time) and kind (gridpoint preferred).';

create or replace view ops.v_observed_extremes as
select o.city_code as city, o.climate_date, max(o.temp_f) as max_f, min(o.temp_f) as min_f,
       max(o.observed_at) as as_of, count(*) as observations
  from ops.observations o
 group by o.city_code, o.climate_date;
comment on view ops.v_observed_extremes is 'Running max/min of each climate day from station observations.';

create or replace view ops.v_climate_reports as
select r.city_code as city, r.climate_date, k.kind,
       case k.kind when 'high' then r.max_f else r.min_f end as value_f,
       r.is_final, r.is_correction, r.issued_at, r.product_id,
       case k.kind when 'high' then r.max_estimated else r.min_estimated end as is_estimated
  from ops.climate_reports r
 cross join (values ('high'), ('low')) k(kind);
comment on view ops.v_climate_reports is 'CLI values per city, climate day and kind; is_final marks the YESTERDAY report that settles.';

create or replace view ops.v_market_quotes as
select m.ticker, m.city_code as city, m.climate_date, m.kind, m.strike_type, m.floor_strike, m.cap_strike,
       q.yes_bid, q.yes_ask, q.yes_bid_size, q.yes_ask_size, q.fetched_at, m.status, m.result
  from ops.markets m
  left join lateral (select s.* from ops.market_snapshots s where s.ticker = m.ticker
                      order by s.fetched_at desc limit 1) q on true;
comment on view ops.v_market_quotes is 'Every market with its newest quote (null sides = no quote).';

create or replace view ops.v_ingest_errors as
select e.at, e.source, e.city_code as city, e.http_status, e.error, e.url, e.excerpt
  from ops.ingest_errors e order by e.at desc, e.id desc;
comment on view ops.v_ingest_errors is 'Payloads and requests that failed, newest first: recorded and skipped.';
