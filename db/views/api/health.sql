-- api: the only schema PostgREST exposes. Small, flat views with explicit limits; no relationships.
-- /v1/health answers 200 whatever the state: the state is in the body (status ok / degraded / down per
-- component and for 'all'); a component that never reported has last_heartbeat null.
create or replace view api.health as
select component, case when isfinite(last_heartbeat) then last_heartbeat end as last_heartbeat, status
  from analytics.v_current_health limit 20;
comment on view api.health is 'Public: component health (ok / degraded / down) and the aggregate ''all''; 200 even when down (the body says so).';
