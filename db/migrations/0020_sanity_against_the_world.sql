-- Sanity against the world (issue 23 §1.5): a forecast that jumps far from the previous one for the same
-- target, or a model far from the market's own ladder, is more likely a bad input than an edge. The cycle
-- skips such a trade with the reason, recorded on the signal like every gate.
insert into ops.strategy_params (strategy, name, value, min_value, max_value, description) values
    ('all', 'max_forecast_jump_sigma', 3, 0.5, 20, 'World gate: a forecast that moved more than this many model sigmas since the previous forecast for the same city, day and kind is not traded on until confirmed.'),
    ('all', 'max_market_disagreement', 0.4, 0.05, 1, 'World gate: |model p - market-implied p| (mids normalised over the event ladder) above this skips the trade.')
on conflict do nothing;
