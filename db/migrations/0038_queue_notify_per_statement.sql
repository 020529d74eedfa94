-- The order queue wakes the executor once per statement, not once per message (issue 25 §3, the cycle's
-- speed). pgmq's insert notification (0030) is a row trigger that updates one throttle row per message:
-- within one transaction the n-th message walks the n versions of that row left by the ones before it,
-- so a cycle that cancelled 2,400 orders spent ~1.5 s there. Its replacement (db/functions/ops/queue_notify.sql)
-- notifies on the same channel once per inserting statement; NOTIFY is delivered at commit and coalesced
-- within a transaction anyway, so the executor sees exactly what it saw before.
select pgmq.disable_notify_insert('order_intents');
