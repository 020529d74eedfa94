-- Calibration that learns, as of each decision (EMOS-style bias and spread per city x kind x lead).
--
-- 1. Pairs: at every decision point (00:00 local standard time of each day, for leads 0-3) the forecast
--    the model held then (ops.forecasts_at, the same source choice as the cycle) is frozen into
--    ops.forecast_pairs once that time has passed. Forecasts are append-only, so writing a pair late
--    gives the same row as writing it on time.
-- 2. Truths: ops.truths_at(p_as_of) — only values known by p_as_of (Kalshi's settled value, else CLI).
-- 3. Fit, per kind x lead x forecast source (one product per cell: the NWS products' biases differ by
--    degrees for the same city, migration 0036): a pooled fit over all cities' pairs of that source,
--    itself shrunk toward the seeded prior; then each city shrunk toward the pooled fit with `calibration_prior_pairs` pseudo-pairs. Pairs are
--    weighted by recency (half-life `calibration_half_life_days`) inside a `calibration_window_days`
--    window. bias = weighted mean error, sigma² = weighted mean squared deviation: the maximum-likelihood
--    fit of the normal, whose minimum-CRPS fit coincides with it for normal errors; the Student-t
--    option (model_t_df) keeps that sd and fattens the tails (ops.model_cdf). A fit measured on one
--    city's 60 days was worse than a naive ±3 °F out of sample in three of five cities; shrinking and
--    rolling is what made it beat the baseline in all five (see the README's backtest).
-- 4. The correction must earn its keep out of sample (issue 24 §2): the cell's pairs of the last
--    `calibration_oos_days`, each scored with the fit that was in force when it was decided (rolling
--    origin: no pair judges a fit that had seen it), corrected (its fitted bias) against uncorrected (bias
--    0, the same sigma), recorded on every fit. With `calibration_oos_switch` = 1, worse corrected than not
--    over at least `calibration_min_pairs` pairs: the new fit applies bias 0 (`bias_off`); the fitted value
--    is kept, so the correction is judged on while off. (Denver went +3.0 °F in December to -1.0 in
--    February: a correction that carried December into January was worse than none there.) The switch is
--    off by default: on the real history it cost CRPS in every window tried (see the README).
-- 5. Each fit is stored with known_at = p_as_of; the model reads the newest fit known at its own time.
-- Returns the number of cells written.
create or replace function ops.fit_calibration(p_as_of timestamptz)
returns integer
language plpgsql security definer set search_path = pg_catalog, ops as $$
declare
    v_window    integer := (select value from ops.strategy_params where strategy = 'all' and name = 'calibration_window_days');
    v_min_n     integer := (select value from ops.strategy_params where strategy = 'all' and name = 'calibration_min_pairs');
    v_half_life float8  := (select value from ops.strategy_params where strategy = 'all' and name = 'calibration_half_life_days');
    v_k         float8  := (select value from ops.strategy_params where strategy = 'all' and name = 'calibration_prior_pairs');
    v_ks        float8  := coalesce((select value from ops.strategy_params where strategy = 'all' and name = 'calibration_sigma_prior_pairs'), v_k);
    v_df        integer := (select value from ops.strategy_params where strategy = 'all' and name = 'model_t_df');
    v_min_sigma float8  := (select value from ops.strategy_params where strategy = 'all' and name = 'min_sigma_f');
    v_oos_days  integer := (select value from ops.strategy_params where strategy = 'all' and name = 'calibration_oos_days');
    v_switch    boolean := (select value = 1 from ops.strategy_params where strategy = 'all' and name = 'calibration_oos_switch');
    v_sigma_oos boolean := coalesce((select value = 1 from ops.strategy_params where strategy = 'all' and name = 'calibration_sigma_from_oos'), false);
    v_since     date    := (p_as_of at time zone 'UTC')::date - v_window;
    v_fitted    integer;
begin
    -- 1. freeze the pairs of every decision point that has passed and is not recorded yet
    insert into ops.forecast_pairs (city_code, kind, climate_date, lead_days, decided_at, source, forecast_f, forecast_at)
    with due as materialized (   -- decision points passed and not frozen yet: the few since the last fit
        select c.code, dp.day, dp.at
          from ops.cities c
         cross join lateral (
                select d::date as day, ops.climate_day_start(d::date, c.std_utc_offset) as at
                  from generate_series(v_since - 3, ops.climate_date(p_as_of, c.std_utc_offset), interval '1 day') d) dp
         where c.enabled and dp.at <= p_as_of
           and not exists (select 1 from ops.forecast_pairs x where x.city_code = c.code and x.decided_at = dp.at))
    select fa.city_code, fa.kind, fa.climate_date, fa.climate_date - du.day, du.at, fa.source, fa.forecast_f, fa.fetched_at
      from due du
      -- a forecast fetched in the 36 hours before (one index probe per point; as a semi-join the planner
      -- hashed every forecast of the city and filtered the time range row by row)
     cross join lateral (select 1 from ops.forecasts fc where fc.city_code = du.code
                            and fc.fetched_at > du.at - interval '36 hours' and fc.fetched_at <= du.at limit 1) seen
     cross join lateral ops.forecasts_at(du.at, du.code) fa
     where fa.climate_date - du.day between 0 and 3
       and fa.fetched_at > du.at - interval '36 hours'      -- a pair stands for the model at its usual freshness
    on conflict do nothing;

    -- 2-4. fit
    with errors as (
        select p.city_code, p.kind, p.lead_days, p.source, (t.value_f - p.forecast_f)::float8 as err,
               power(0.5, extract(epoch from p_as_of - p.decided_at) / 86400.0 / v_half_life) as w,
               extract(epoch from p.decided_at - p.forecast_at) / 3600.0 as age_h,
               p.decided_at
          from ops.forecast_pairs p
          join ops.truths_at(p_as_of, v_since) t
            on t.city_code = p.city_code and t.climate_date = p.climate_date and t.kind = p.kind
         where p.decided_at <= p_as_of
    ),
    prior as (
        select distinct on (mc.kind, mc.lead_days) mc.kind, mc.lead_days, avg(mc.bias) over w as bias, avg(mc.sigma) over w as sigma
          from ops.model_calibration mc where mc.is_prior
        window w as (partition by mc.kind, mc.lead_days)
    ),
    pooled_mean as (   -- per product: the pairs of one source only
        select e.kind, e.lead_days, e.source, count(*) as n, sum(e.w) as w, (sum(e.w * e.err) + v_k * pr.bias) / (sum(e.w) + v_k) as bias,
               sum(e.w * e.age_h) / sum(e.w) as age_h
          from errors e join prior pr using (kind, lead_days)
         group by e.kind, e.lead_days, e.source, pr.bias
        having count(*) >= v_min_n
    ),
    pooled as (
        select pm.*, (sum(e.w * (e.err - pm.bias) ^ 2) + v_k * pr.sigma::float8 ^ 2) / (pm.w + v_k) as var
          from pooled_mean pm join errors e using (kind, lead_days, source) join prior pr using (kind, lead_days)
         group by pm.kind, pm.lead_days, pm.source, pm.n, pm.w, pm.bias, pm.age_h, pr.sigma
    ),
    cell_mean as (
        select c.code as city_code, po.kind, po.lead_days, po.source, count(e.err) as n, coalesce(sum(e.w), 0) as w,
               -- no pairs and no prior weight (v_k = 0): the pooled fit as it is
               coalesce((coalesce(sum(e.w * e.err), 0) + v_k * po.bias) / nullif(coalesce(sum(e.w), 0) + v_k, 0), po.bias) as bias,
               coalesce(sum(e.w * e.age_h) / nullif(sum(e.w), 0), po.age_h) as age_h, po.var as pooled_var
          from ops.cities c
         cross join pooled po
          left join errors e on e.city_code = c.code and e.kind = po.kind and e.lead_days = po.lead_days and e.source = po.source
         where c.enabled
         group by c.code, po.kind, po.lead_days, po.source, po.bias, po.age_h, po.var
    ),
    -- each recent pair with the fit in force when it was decided (rolling origin: no pair judges a fit
    -- that had seen it): its product's own, else one for any product (each lookup one probe of
    -- model_calibration_key, newest first)
    in_force as (
        select e.*, coalesce(own.fitted_bias, own.bias, anyp.fitted_bias, anyp.bias)::float8 as f_fitted_bias,
               coalesce(own.bias, anyp.bias)::float8 as f_bias, coalesce(own.sigma, anyp.sigma)::float8 as f_sigma
          from errors e
          left join lateral (select mc.bias, mc.fitted_bias, mc.sigma from ops.model_calibration mc
                              where mc.city_code = e.city_code and mc.kind = e.kind and mc.lead_days = e.lead_days
                                and mc.source = e.source and mc.known_at <= e.decided_at and not mc.is_prior
                              order by mc.known_at desc limit 1) own on true
          left join lateral (select mc.bias, mc.fitted_bias, mc.sigma from ops.model_calibration mc
                              where mc.city_code = e.city_code and mc.kind = e.kind and mc.lead_days = e.lead_days
                                and mc.source is null and mc.known_at <= e.decided_at and not mc.is_prior
                              order by mc.known_at desc limit 1) anyp on own.sigma is null
         where e.decided_at > p_as_of - make_interval(days => v_oos_days)
    ),
    -- the errors the model really made: each against the bias it applied then (calibration_sigma_from_oos)
    oos_spread as (
        select f.city_code, f.kind, f.lead_days, f.source, count(*) as n, sum(f.w) as w,
               sum(f.w * (f.err - f.f_bias) ^ 2) as wss
          from in_force f where f.f_sigma is not null
         group by f.city_code, f.kind, f.lead_days, f.source
    ),
    cell as (
        -- sigma toward the pooled one with its own weight (calibration_sigma_prior_pairs): from the spread
        -- around the new bias, or (calibration_sigma_from_oos, with enough recent pairs) from the recent
        -- out-of-sample errors
        select cm.*, greatest(sqrt(coalesce(case when v_sigma_oos and os.n >= v_min_n
                                                 then (os.wss + v_ks * cm.pooled_var) / nullif(os.w + v_ks, 0)
                                                 else (coalesce(sum(e.w * (e.err - cm.bias) ^ 2), 0) + v_ks * cm.pooled_var) / nullif(cm.w + v_ks, 0) end,
                                            cm.pooled_var)), v_min_sigma) as sigma
          from cell_mean cm
          left join errors e on e.city_code = cm.city_code and e.kind = cm.kind and e.lead_days = cm.lead_days and e.source = cm.source
          left join oos_spread os on os.city_code = cm.city_code and os.kind = cm.kind and os.lead_days = cm.lead_days and os.source = cm.source
         group by cm.city_code, cm.kind, cm.lead_days, cm.source, cm.n, cm.w, cm.bias, cm.age_h, cm.pooled_var, os.n, os.w, os.wss
    ),
    scored as (   -- continuous CRPS of the fitted normal on the cell's last 30 days of pairs (in-sample)
        select ce.city_code, ce.kind, ce.lead_days, ce.source,
               avg(ops.crps_normal(e.err - ce.bias, ce.sigma)) as crps
          from cell ce
          join errors e on e.city_code = ce.city_code and e.kind = ce.kind and e.lead_days = ce.lead_days
                       and e.source = ce.source and e.decided_at > p_as_of - interval '30 days'
         group by ce.city_code, ce.kind, ce.lead_days, ce.source
    ),
    oos as (      -- out of sample: each recent pair against the (non-prior) fit in force when it was decided
        select f.city_code, f.kind, f.lead_days, f.source, count(*) as n,
               avg(ops.crps_normal(f.err - f.f_fitted_bias, f.f_sigma)) as crps,
               avg(ops.crps_normal(f.err, f.f_sigma)) as crps_raw
          from in_force f
         where f.f_sigma is not null
         group by f.city_code, f.kind, f.lead_days, f.source
    ),
    fits as (
        insert into ops.model_calibration (city_code, kind, lead_days, source, known_at, bias, sigma, n, window_days, is_prior,
                                           dist, df, n_effective, prior_weight, mean_age_h, crps_recent,
                                           fitted_bias, bias_off, oos_n, oos_crps, oos_crps_raw)
        select ce.city_code, ce.kind, ce.lead_days, ce.source, p_as_of,
               case when v.off then 0 else round(least(greatest(ce.bias, -15), 15)::numeric, 3) end,
               round(least(greatest(ce.sigma, 0.5), 15)::numeric, 3),
               ce.n, v_window, false,
               case when v_df > 2 then 'student_t' else 'normal' end, case when v_df > 2 then v_df end,
               round(ce.w::numeric, 3), v_k, round(ce.age_h::numeric, 2), round(sc.crps::numeric, 3),
               round(least(greatest(ce.bias, -15), 15)::numeric, 3), v.off,
               coalesce(o.n, 0), round(o.crps::numeric, 3), round(o.crps_raw::numeric, 3)
          from cell ce
          left join scored sc using (city_code, kind, lead_days, source)
          left join oos o using (city_code, kind, lead_days, source)
         cross join lateral (select coalesce(v_switch and o.n >= v_min_n and o.crps > o.crps_raw, false) as off) v
        on conflict (city_code, kind, lead_days, source, known_at) do update
           set bias = excluded.bias, sigma = excluded.sigma, n = excluded.n, window_days = excluded.window_days,
               dist = excluded.dist, df = excluded.df, n_effective = excluded.n_effective,
               prior_weight = excluded.prior_weight, mean_age_h = excluded.mean_age_h, crps_recent = excluded.crps_recent,
               fitted_bias = excluded.fitted_bias, bias_off = excluded.bias_off, oos_n = excluded.oos_n,
               oos_crps = excluded.oos_crps, oos_crps_raw = excluded.oos_crps_raw
        returning 1
    )
    select count(*) into v_fitted from fits;
    insert into ops.calibration_runs (at, cells) values (p_as_of, v_fitted)
    on conflict (at) do update set cells = excluded.cells;
    return v_fitted;
end
$$;
comment on function ops.fit_calibration(timestamptz) is 'Freeze the forecast pairs of passed decision points, then fit bias and sigma per city x kind x lead x forecast source from truths known at p_as_of (recency-weighted, shrunk to a pooled prior); stored with known_at = p_as_of. Returns cells written.';

-- The live system re-fits by itself: whenever a truth (a CLI final or a settled value) has become known
-- since the last fit attempt, the next cycle fits again. No operator step.
create or replace function ops.refit_calibration_if_due(p_as_of timestamptz)
returns integer
language plpgsql security definer set search_path = pg_catalog, ops as $$
declare
    v_last timestamptz := (select max(at) from ops.calibration_runs where at <= p_as_of);
begin
    if exists (select 1 from ops.climate_reports r
                where r.is_final and r.issued_at <= p_as_of and r.issued_at > coalesce(v_last, '-infinity'))
       or exists (select 1 from ops.markets m
                   where m.expiration_value_at <= p_as_of and m.expiration_value_at > coalesce(v_last, '-infinity')) then
        perform ops.fit_blend(p_as_of);           -- the market blend learns from the same new truths,
        perform ops.fit_min_edge(p_as_of,         -- and the edge gate from what the book's trades realised
                                 coalesce(nullif(current_setting('milkbot.mode', true), ''), 'paper')::ops.trading_mode);
        return ops.fit_calibration(p_as_of);
    end if;
    return 0;
end
$$;
comment on function ops.refit_calibration_if_due(timestamptz) is 'Re-fit the calibration and the market blend when a truth became known after the newest fit (called by every cycle); returns calibration cells written.';
