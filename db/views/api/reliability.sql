-- Model against market, for the public (issue 28 §2): how often settled daily brackets resolved YES,
-- grouped by the probability each forecaster gave them at the same moment -- the model's, and the
-- market's own (the mid of bid and ask normalised over the ladder, as the cycle recorded it on the same
-- signal). Each bracket is scored once per forecaster on its day-ahead signal: the last before its climate
-- day began (and at or before the public cut-off) -- later in the day the thermometer has all but settled
-- a high, and both forecasters score near-perfectly on what they watched happen. The market is the
-- benchmark: a model that does not beat it here should not be trading against it.
create or replace view api.reliability as
with cutoff as (select at from analytics.public_cutoff),
scored as (
    select m.city_code as city, s.model_p, s.market_p, (m.result = 'yes')::int as yes
      from ops.markets m
      join ops.cities c on c.code = m.city_code
      join lateral (select coalesce((sg.gates->'blend'->>'model_p')::numeric, sg.model_p) as model_p,   -- the model's own, not the blend traded on
                           (sg.gates->'world'->>'market_p')::numeric as market_p
                      from ops.signals sg cross join cutoff
                     where sg.ticker = m.ticker and sg.model_p is not null
                       and sg.as_of < least(m.close_time, (m.climate_date::timestamp - c.std_utc_offset) at time zone 'UTC')  -- (inline: web_anon executes no function)
                       and sg.as_of <= cutoff.at
                     order by sg.as_of desc limit 1) s on true
     where m.result in ('yes', 'no') and m.kind in ('high', 'low')
),
both_ as (
    select city, 'model' as forecaster, model_p as p, yes from scored
    union all
    select city, 'market', market_p, yes from scored where market_p is not null
)
select city, forecaster, least(floor(p * 10), 9)::int * 10 as bin_from_pct, count(*) as markets,
       round(avg(p), 4) as mean_p, round(avg(yes), 4) as yes_rate, round(avg(power(p - yes, 2)), 6) as brier
  from both_
 group by city, forecaster, least(floor(p * 10), 9)
 order by city, forecaster, bin_from_pct
 limit 400;
comment on view api.reliability is 'Public: per city, forecaster (model or market) and 10-point bin of its probability, settled markets, mean p, YES rate and Brier of the day-ahead probability (the last signal before the climate day began, as of the 60-minute cut-off).';
