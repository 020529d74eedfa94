-- Exposure now (fills plus live orders at their limit), per event, per cluster and in total, against
-- the limits. Only one bracket per event can win, so an event's exposure is its worst-case loss.
create or replace view ops.v_exposure as
with ev as (select * from ops.event_worst_case_loss(now(), true)),
lim as (select max(value) filter (where name = 'max_event_loss') as ev_lim,
               max(value) filter (where name = 'max_cluster_exposure') as cl_lim,
               max(value) filter (where name = 'max_total_exposure') as tot_lim from ops.risk_limits)
select 'event' as level, ev.event_ticker as name, ev.cluster::text as cluster, ev.worst_case_loss, lim.ev_lim as limit_value,
       ev.worst_case_loss > lim.ev_lim as over_limit
  from ev, lim where ev.worst_case_loss > 0
union all
select 'cluster', c::text, c::text, coalesce(sum(ev.worst_case_loss), 0), lim.cl_lim, coalesce(sum(ev.worst_case_loss), 0) > lim.cl_lim
  from unnest(enum_range(null::ops.city_cluster)) c cross join lim left join ev on ev.cluster = c
 group by c, lim.cl_lim
union all
select 'total', 'all', null, coalesce(sum(ev.worst_case_loss), 0), lim.tot_lim, coalesce(sum(ev.worst_case_loss), 0) > lim.tot_lim
  from lim left join ev on true group by lim.tot_lim;
comment on view ops.v_exposure is 'Operator view: worst-case loss per event ladder, per cluster and in total, against the limits.';
