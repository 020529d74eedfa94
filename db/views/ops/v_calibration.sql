create or replace view ops.v_calibration as
select distinct on (mc.city_code, mc.kind, mc.lead_days, mc.source)
       mc.city_code as city, mc.kind, mc.lead_days as lead, coalesce(mc.source::text, 'any') as source, mc.n, mc.bias, mc.sigma,
       case when mc.dist = 'student_t' then 'student-t ' || mc.df else 'normal' end as distribution,
       mc.known_at as fitted_at, mc.crps_recent, mc.n_effective, mc.prior_weight, mc.mean_age_h, mc.is_prior,
       mc.fitted_bias, mc.bias_off, mc.oos_n, mc.oos_crps, mc.oos_crps_raw,
       case when mc.is_prior then 'seeded prior: no fit yet'
            when mc.bias_off then format('bias correction OFF: out of sample it scored CRPS %s °F against %s °F uncorrected over %s pairs (fitted %s °F, applied 0)',
                                         mc.oos_crps, mc.oos_crps_raw, mc.oos_n, mc.fitted_bias)
            when mc.oos_crps is not null and mc.oos_n >= coalesce((select sp.value from ops.strategy_params sp
                                                                     where sp.strategy = 'all' and sp.name = 'calibration_min_pairs'), 0)
            then format('bias correction on: out of sample CRPS %s °F against %s °F uncorrected over %s pairs%s', mc.oos_crps, mc.oos_crps_raw, mc.oos_n,
                        case when mc.oos_crps > mc.oos_crps_raw then ' — worse than none, kept because calibration_oos_switch is 0' else ' — it earns its keep' end)
            else format('bias correction on, not judged yet: %s out-of-sample pairs', coalesce(mc.oos_n, 0)) end as verdict
  from ops.model_calibration mc
 order by mc.city_code, mc.kind, mc.lead_days, mc.source, mc.known_at desc;
comment on view ops.v_calibration is 'Operator view: the newest calibration (the one in force) per city x kind x lead x forecast source (any: the seeded priors and fits pooled over products, used where a product has none of its own) — pairs, bias applied and fitted, sigma (°F), error distribution, when it was fitted, its recent CRPS (in-sample), and whether the bias correction earns its keep out of sample (verdict).';
