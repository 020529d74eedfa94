-- Health per component from the age of its last heartbeat and its recent error rate, plus one
-- aggregate row. The database component is answered by the database itself.
create or replace view analytics.v_current_health as
with recent as (
    select e.component, count(*) filter (where e.level = 'error') as errors, count(*) as events
      from ops.health_events e where e.at > now() - interval '30 minutes' group by e.component
),
per_component as (
    select h.component,
           case when h.component = 'database' then now() else h.last_heartbeat end as last_heartbeat,
           coalesce(r.errors, 0) as recent_errors, coalesce(r.events, 0) as recent_events,
           case
               when h.component = 'database' then 'ok'
               when not isfinite(h.last_heartbeat) or now() - h.last_heartbeat > h.down_after then 'down'
               when now() - h.last_heartbeat > h.degraded_after then 'degraded'
               when coalesce(r.errors, 0) > 0 and r.errors * 2 >= r.events then 'degraded'
               else 'ok'
           end as status
      from ops.health_status h left join recent r on r.component = h.component
)
select component, last_heartbeat, recent_errors, recent_events, status from per_component
union all
select 'all', min(last_heartbeat), sum(recent_errors), sum(recent_events),
       case when bool_or(status = 'down') then 'down' when bool_or(status = 'degraded') then 'degraded' else 'ok' end
  from per_component;
comment on view analytics.v_current_health is 'Per component: last heartbeat, recent errors and ok/degraded/down; plus the aggregate row ''all''.';
