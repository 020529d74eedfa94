create or replace view ops.v_calibration as
select distinct on (mc.city_code, mc.kind, mc.lead_days)
       mc.city_code as city, mc.kind, mc.lead_days as lead, mc.n, mc.bias, mc.sigma,
       case when mc.dist = 'student_t' then 'student-t ' || mc.df else 'normal' end as distribution,
       mc.known_at as fitted_at, mc.crps_recent, mc.n_effective, mc.prior_weight, mc.mean_age_h, mc.is_prior
  from ops.model_calibration mc
 order by mc.city_code, mc.kind, mc.lead_days, mc.known_at desc;
comment on view ops.v_calibration is 'Operator view: the newest calibration (the one in force) per city x kind x lead — pairs, bias and sigma (°F), error distribution, when it was fitted and its recent CRPS (°F, in-sample, last 30 days).';
