-- The low has no out-of-sample score yet (issue 24 §3): ../shared/data/history holds highs only, and the
-- CLI minimum is collected by live ingest from now on. Until the low's score exists, the low trades with a
-- smaller Kelly fraction than the high's 0.25 -- an operator raises it once the backtest can score lows.
insert into ops.strategy_params (strategy, name, value, min_value, max_value, description) values
    ('DailyLow', 'kelly_fraction', 0.10, 0.00, 1.00,
     'Sizing for the daily low: a smaller fraction of full Kelly than the high''s until the low has an out-of-sample score (no low truth in the history yet).')
on conflict do nothing;
