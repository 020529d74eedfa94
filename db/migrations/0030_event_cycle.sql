-- The per-event cycle (issue 25 §3): ops.run_cycle takes the events to decide (null: all). Same function,
-- one code path; a new signature, so the old one goes.
drop function if exists ops.run_cycle(timestamptz);
-- and the evaluation takes the events too, so a per-event cycle evaluates only them
drop function if exists ops.evaluate_markets(timestamptz, timestamptz);

-- The executor wakes on a new intent instead of its 2-second poll: pgmq's own insert notification on the
-- queue (channel pgmq.q_order_intents.INSERT), unthrottled -- the executor drains the whole queue on
-- each wake, and still polls as a fallback.
select pgmq.enable_notify_insert('order_intents', 0);
