-- The per-event cycle (issue 25 §3): ops.run_cycle takes the events to decide (null: all). Same function,
-- one code path; a new signature, so the old one goes.
drop function if exists ops.run_cycle(timestamptz);
