-- A city's spread shrinks toward its product's pooled spread with its own weight (issue 24 §2 / the
-- interval coverage): with the bias's 10 pseudo-pairs, Miami's steady errors were overstated and Denver's
-- and Los Angeles's understated (README, "Do the intervals mean what they say?"). Same default: nothing
-- changes until the rolling-origin comparison says so.
insert into ops.strategy_params (strategy, name, value, min_value, max_value, description) values
    ('all', 'calibration_sigma_prior_pairs', 10, 0, 1000,
     'Calibration: a city''s sigma is shrunk toward its product''s pooled sigma as if the pooled one were this many pairs (the bias: calibration_prior_pairs).');
