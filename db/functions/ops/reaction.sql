-- What wakes the per-event cycle (issue 25 §3): a NOTIFY on channel milkbot_event with the event ticker.
-- The feed's top-of-book changes notify from ops.record_feed; a fill notifies here (the position moved,
-- so the event's target may have). Forecasts and observations land in the ingest pass, which runs the
-- full cycle right after them.
create or replace function ops.on_fill_notify() returns trigger
language plpgsql security definer set search_path = pg_catalog, ops as $$
begin
    perform pg_notify('milkbot_event', m.event_ticker) from ops.markets m where m.ticker = new.ticker;
    return null;
end
$$;
comment on function ops.on_fill_notify() is 'Trigger: a fill wakes its event''s cycle (NOTIFY milkbot_event).';

drop trigger if exists fills_notify on ops.fills;
create trigger fills_notify after insert on ops.fills for each row execute function ops.on_fill_notify();
