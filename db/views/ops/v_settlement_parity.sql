-- Settlement parity (issue 27 §5): the outcome of record is the market's own settled value (Kalshi's
-- expiration_value; its daily temperature events cite The Weather Company since climate day 2026-08-14,
-- earlier ones and the monthly rain the NWS CLI). Beside it, per event, what the two cross-checks say:
-- the CLI final (the newest final report of the day) and the station's METAR-derived extreme (hourly
-- readings in tenths and the 6-hourly max/min groups that lie inside the climate day, rounded to whole
-- °F). A disagreement with the CLI already raises a settlement_disagreement risk event (settlement.sql).
-- The climate day's start is ops.climate_day_start's expression, inlined (the public rates view below
-- runs as web_anon, which executes no function).
create or replace view ops.v_settlement_parity as
with kalshi as (
    select distinct on (m.city_code, m.climate_date, m.kind)
           m.city_code, m.climate_date, m.kind::text as kind, m.event_ticker,
           round(m.expiration_value::numeric)::int as value_f, m.expiration_value_at as settled_at
      from ops.markets m
     where m.kind in ('high', 'low') and m.expiration_value ~ '^-?[0-9]+(\.[0-9]+)?$'
     order by m.city_code, m.climate_date, m.kind, m.expiration_value_at
),
cli as (
    select distinct on (r.city_code, r.climate_date) r.city_code, r.climate_date, r.max_f, r.min_f
      from ops.climate_reports r where r.is_final
     order by r.city_code, r.climate_date, r.issued_at desc, r.fetched_at desc
),
metar as (
    select o.city_code, o.climate_date,
           round(max(greatest(o.temp_f, case when o.observed_at - interval '6 hours'
                                                  >= (o.climate_date::timestamp - c.std_utc_offset) at time zone 'UTC'
                                             then o.max6h_f end)))::int as max_f,
           round(min(least(o.temp_f, case when o.observed_at - interval '6 hours'
                                               >= (o.climate_date::timestamp - c.std_utc_offset) at time zone 'UTC'
                                          then o.min6h_f end)))::int as min_f,
           count(*) as readings
      from ops.observations o join ops.cities c on c.code = o.city_code
     group by o.city_code, o.climate_date
)
select k.city_code as city, k.climate_date, k.kind, k.event_ticker, k.value_f as kalshi_f, k.settled_at,
       case k.kind when 'high' then c.max_f else c.min_f end as cli_f,
       case k.kind when 'high' then m.max_f else m.min_f end as metar_f, m.readings as metar_readings,
       (case k.kind when 'high' then c.max_f else c.min_f end) = k.value_f as cli_agrees,
       (case k.kind when 'high' then m.max_f else m.min_f end) = k.value_f as metar_agrees
  from kalshi k
  left join cli c on c.city_code = k.city_code and c.climate_date = k.climate_date
  left join metar m on m.city_code = k.city_code and m.climate_date = k.climate_date;
comment on view ops.v_settlement_parity is 'Per settled daily event: Kalshi''s settled value (the outcome of record), the CLI final and the METAR-derived extreme (whole °F), and whether each cross-check agrees (null = that source has no value).';

create or replace view ops.v_settlement_parity_rates as
select s.source, count(*) filter (where s.agrees is not null) as events,
       count(*) filter (where s.agrees) as agree,
       round(avg(s.agrees::int), 4) as agreement_rate
  from ops.v_settlement_parity p
 cross join lateral (values ('cli', p.cli_agrees), ('metar', p.metar_agrees)) s(source, agrees)
 group by s.source;
comment on view ops.v_settlement_parity_rates is 'Per cross-check source (cli, metar): settled events it had a value for, how many agreed with Kalshi''s settled value, and the rate.';
