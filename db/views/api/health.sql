-- api: the only schema PostgREST exposes. Small, flat views with explicit limits; no relationships.
-- /v1/health answers 200 whatever the state: the state is in the body (status ok / degraded / down per
-- component and for 'all'). It says how recently each component was heard from only in whole 5-minute
-- steps (heard_within_min: 5 = within the last 5 minutes; null = never): a heartbeat's exact time moves
-- with trading (the executor beats between orders, the cycle when it decides), and the public must not
-- learn when the bot trades.
create or replace view api.health as
select component, status,
       case when last_heartbeat is not null and isfinite(last_heartbeat)
            then (greatest(ceil(extract(epoch from now() - last_heartbeat) / 300), 1) * 5)::integer end as heard_within_min
  from analytics.v_current_health limit 20;
comment on view api.health is 'Public: component health (ok / degraded / down) and the aggregate ''all'', with how recently each was heard from in whole 5 minutes; 200 even when down (the body says so).';
