-- How the Monthly model has scored, per kind, as its markets settle (issue 27 §3): every settled
-- threshold's last recorded probability before it closed (the model's, and the market's mid beside it
-- on the same signal), Brier scores and the rate of YES. The prior (ops.monthly_prior) is seeded, not
-- fitted; this is the evidence an operator refits it on (its wet-day chance and gamma shape).
create or replace view ops.v_monthly_calibration as
with last_signal as (
    select m.kind, m.ticker, m.result = 'yes' as won, s.model_p,
           (s.gates->'world'->>'market_p')::numeric as market_p
      from ops.markets m
      join lateral (select sg.model_p, sg.gates, sg.as_of from ops.signals sg
                     where sg.ticker = m.ticker and sg.model_p is not null and sg.as_of < m.close_time
                     order by sg.as_of desc limit 1) s on true
     where m.kind in ('monthly_rain', 'monthly_snow') and m.result in ('yes', 'no'))
select ls.kind, count(*) as markets,
       round(avg(ls.won::int), 3) as yes_rate,
       round(avg(ls.model_p), 3) as mean_model_p,
       round(avg((ls.model_p - ls.won::int) ^ 2), 4) as brier_model,
       round(avg((ls.market_p - ls.won::int) ^ 2), 4) as brier_market,
       count(ls.market_p) as with_market_p,
       (select source from ops.monthly_prior pr where pr.kind = ls.kind) as prior_source
  from last_signal ls
 group by ls.kind;
comment on view ops.v_monthly_calibration is 'Operator view: per Monthly kind, settled thresholds scored on the last model p before close (and the market mid on the same signal): Brier, YES rate, and where the prior came from.';
