-- api: the only schema PostgREST exposes. Small, flat views with explicit limits; no relationships.
create or replace view api.health as
select component, last_heartbeat, status from analytics.v_current_health limit 20;
comment on view api.health is 'Public: component health (ok / degraded / down) and the aggregate ''all''.';
