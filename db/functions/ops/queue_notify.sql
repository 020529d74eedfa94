-- Wake the executor when order messages are queued: one NOTIFY per inserting statement on the channel
-- pgmq's own notification used ("pgmq.q_order_intents.INSERT"; migration 0038 says why it is not pgmq's).
create or replace function ops.notify_order_intents()
returns trigger
language plpgsql
set search_path = pg_catalog
as $$
begin
    perform pg_notify('pgmq.q_order_intents.INSERT', null);
    return null;
end
$$;
comment on function ops.notify_order_intents() is 'Statement trigger on the order queue: one wake-up for the executor per inserting statement (delivered at commit).';

drop trigger if exists order_intents_notify on pgmq.q_order_intents;
create trigger order_intents_notify after insert on pgmq.q_order_intents
    for each statement execute function ops.notify_order_intents();
