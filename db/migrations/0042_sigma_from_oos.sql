-- A city's spread from its out-of-sample residuals (issue 24 §2, "sigma that follows recent skill"; the
-- interval coverage): the in-sample spread is measured around the bias fitted on the same pairs, so after
-- a regime change (Denver, Los Angeles) it understates the misses of the bias that was actually applied,
-- which lags. With this on, a cell with at least calibration_min_pairs recent pairs takes its spread from
-- those pairs' errors against the fit in force when each was decided (the predictive error the model
-- really made), recency-weighted and shrunk toward the pooled spread like the in-sample one. Off by
-- default: the rolling-origin comparison in the README decides.
insert into ops.strategy_params (strategy, name, value, min_value, max_value, description) values
    ('all', 'calibration_sigma_from_oos', 0, 0, 1,
     'Calibration: 1 = a cell''s sigma from its recent out-of-sample residuals (errors against the fit in force when each pair was decided) instead of the in-sample spread around the new bias.');
