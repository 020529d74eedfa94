-- Health stays O(components) however long Milkbot runs: ok heartbeats are counted in a 30-minute window
-- on ops.health_status instead of being stored one row each (86,000 rows a day); ops.health_events keeps
-- errors and warnings, the newest 100,000 (ops.heartbeat prunes by id: events of a replayed cycle are
-- stamped with its as_of, so their time says nothing about when they were written).
alter table ops.health_status
    add column window_start  timestamptz not null default '-infinity',
    add column window_ok     integer not null default 0 check (window_ok >= 0),
    add column window_errors integer not null default 0 check (window_errors >= 0);
comment on column ops.health_status.window_start is 'Start of the current 30-minute counting window (a new one starts with the first report after it ends).';
comment on column ops.health_status.window_ok is 'Successful reports in the current window.';
comment on column ops.health_status.window_errors is 'Failed reports in the current window.';
delete from ops.health_events where level = 'ok';
create index health_events_at_idx on ops.health_events (at);
comment on table ops.health_events is 'Errors and warnings per component, the newest 100,000 kept (ok heartbeats are only counted, in ops.health_status).';
-- the health view's columns change type (window counters instead of counted events): it and the public
-- view on it are re-created by their definition files right after the migrations
drop view if exists analytics.v_current_health cascade;
