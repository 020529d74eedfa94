-- The backtest reports how often its 50/80/90 % intervals cover the truth (issue 24's goals): the replay
-- returns each decision's probability integral transform. A function's result columns cannot change in
-- place: both go, and are created again from db/functions/ops/replay.sql (replay_day_ahead reads
-- replay_decisions).
drop function if exists ops.replay_day_ahead(date, date);
drop function if exists ops.replay_decisions(date, date, interval[]);
