-- The continuous ranked probability score of a normal forecast N(0, sigma) for an error x (°F, lower is
-- better): sigma * (z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)), z = x / sigma (Gneiting et al. 2005).
-- Beyond |z| = 8, phi(z) < 1e-14 and Phi(z) is 0 or 1 to double precision: the score is
-- sigma (|z| - 1/sqrt(pi)), computed so (exp() of -z²/2 would leave double's range for a 30 °F miss at
-- sigma 0.5, and Postgres raises rather than rounding to 0). (Note -x ^ 2 is (-x)^2 in Postgres: squares are written x * x.)
create or replace function ops.crps_normal(p_err double precision, p_sigma double precision)
returns double precision
-- neither strict nor with a search_path setting: either stops the planner inlining it, and a call each
-- (an SQL-function call, the setting switched in and out) was most of a calibration fit's time. A null
-- argument still gives null (every branch does); the body is bound when it is created (a SQL-standard
-- body), so the caller's search_path cannot change what it calls.
language sql immutable parallel safe
-- (a subnormal error -- Hypothesis found 5e-324 -- makes even x / sigma underflow: tested before dividing)
return case when abs(p_err) < 1e-100 * p_sigma then p_sigma * (sqrt(2 / pi()) - 1 / sqrt(pi()))   -- z * z would underflow
            when abs(p_err / p_sigma) > 8 then p_sigma * (abs(p_err / p_sigma) - 1 / sqrt(pi()))
            else p_sigma * ((p_err / p_sigma) * (2 * ops.norm_cdf(p_err / p_sigma) - 1)
                            + 2 * exp(-((p_err / p_sigma) * (p_err / p_sigma)) / 2) / sqrt(2 * pi()) - 1 / sqrt(pi())) end;
comment on function ops.crps_normal(double precision, double precision) is 'CRPS (°F) of the normal N(0, sigma) for an error p_err: the score calibration fits are judged by (exact to double precision at any |error|).';
