-- The model's calibration per city, for the public: settled daily markets grouped by the probability the
-- model gave them the day ahead (its last signal before the climate day began, and at or before the public
-- cut-off), with how often they resolved YES. A calibrated model's YES rate matches its probability in
-- every bin.
create or replace view api.calibration as
with cutoff as (select at from analytics.public_cutoff),
scored as (
    select m.city_code as city, s.model_p, (m.result = 'yes')::int as yes
      from ops.markets m
      join ops.cities c on c.code = m.city_code
      join lateral (select sg.model_p from ops.signals sg cross join cutoff
                     where sg.ticker = m.ticker and sg.model_p is not null
                       and sg.as_of < least(m.close_time, (m.climate_date::timestamp - c.std_utc_offset) at time zone 'UTC')  -- (inline: web_anon executes no function)
                       and sg.as_of <= cutoff.at
                     order by sg.as_of desc limit 1) s on true
     where m.result in ('yes', 'no') and m.kind in ('high', 'low')
)
select city, least(floor(model_p * 10), 9)::int * 10 as bin_from_pct, count(*) as markets,
       round(avg(model_p), 4) as mean_model_p, round(avg(yes), 4) as yes_rate,
       round(avg(power(model_p - yes, 2)), 6) as brier
  from scored
 group by city, least(floor(model_p * 10), 9)
 order by city, bin_from_pct
 limit 200;
comment on view api.calibration is 'Public: per city and 10-point bin of model p, settled markets, mean p, YES rate and Brier of the day-ahead probability (the last signal before the climate day began, as of the 60-minute cut-off).';
