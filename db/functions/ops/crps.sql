-- The continuous ranked probability score of a normal forecast N(0, sigma) for an error x (°F, lower is
-- better): sigma * (z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)), z = x / sigma (Gneiting et al. 2005).
create or replace function ops.crps_normal(p_err double precision, p_sigma double precision)
returns double precision
language sql immutable strict parallel safe
set search_path = pg_catalog, ops
return p_sigma * ((p_err / p_sigma) * (2 * ops.norm_cdf(p_err / p_sigma) - 1)
                  + 2 * exp(-(p_err / p_sigma) ^ 2 / 2) / sqrt(2 * pi()) - 1 / sqrt(pi()));
comment on function ops.crps_normal(double precision, double precision) is 'CRPS (°F) of the normal N(0, sigma) for an error p_err: the score calibration fits are judged by.';
