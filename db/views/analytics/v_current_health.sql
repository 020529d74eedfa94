-- Health per component from the age of its last heartbeat and the errors of its current 30-minute
-- window (ops.health_status only: O(components), whatever the history holds), plus one aggregate row.
-- The database component is answered by the database itself.
create or replace view analytics.v_current_health as
with per_component as (
    select h.component,
           case when h.component <> 'database' then h.last_heartbeat end as last_heartbeat,   -- the database answers for itself
           h.window_errors as recent_errors, h.window_ok + h.window_errors as recent_events,
           case
               when h.component = 'database' then 'ok'
               when not isfinite(h.last_heartbeat) or now() - h.last_heartbeat > h.down_after then 'down'
               when now() - h.last_heartbeat > h.degraded_after then 'degraded'
               when h.window_errors > 0 and h.window_errors * 2 >= h.window_ok + h.window_errors then 'degraded'
               else 'ok'
           end as status
      from ops.health_status h
)
select component, last_heartbeat, recent_errors, recent_events, status from per_component
union all
select 'all', min(last_heartbeat), sum(recent_errors), sum(recent_events),
       case when bool_or(status = 'down') then 'down' when bool_or(status = 'degraded') then 'degraded' else 'ok' end
  from per_component;
comment on view analytics.v_current_health is 'Per component: last heartbeat, errors in its current 30-minute window and ok/degraded/down; plus the aggregate row ''all''.';
