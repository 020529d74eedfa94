-- Exposure now, per book (mode): fills plus every working order at its worst case (any part may fill),
-- per event, per cluster and in total, against the limits. Only one bracket per event can win, so an
-- event's exposure is its worst-case loss. Fills on markets we do not know count in the total.
create or replace view ops.v_exposure as
with modes as (select m as mode from unnest(enum_range(null::ops.trading_mode)) m),
ev as (select md.mode, e.* from modes md cross join lateral ops.event_worst_case_loss((select k.now from analytics.clock k), md.mode) e),
unmapped as (select md.mode, ops.unmapped_exposure((select k.now from analytics.clock k), md.mode) as loss from modes md),
lim as (select max(value) filter (where name = 'max_event_loss') as ev_lim,
               max(value) filter (where name = 'max_cluster_exposure') as cl_lim,
               max(value) filter (where name = 'max_total_exposure') as tot_lim from ops.risk_limits)
select ev.mode, 'event' as level, ev.event_ticker as name, ev.cluster::text as cluster, ev.worst_case_loss,
       lim.ev_lim as limit_value, ev.worst_case_loss > lim.ev_lim as over_limit
  from ev, lim where ev.worst_case_loss > 0
union all
select u.mode, 'unknown_markets', 'fills on markets not in ops.markets', null, u.loss, lim.tot_lim, u.loss > lim.tot_lim
  from unmapped u, lim where u.loss > 0
union all
select md.mode, 'cluster', c::text, c::text, coalesce(sum(ev.worst_case_loss), 0), lim.cl_lim, coalesce(sum(ev.worst_case_loss), 0) > lim.cl_lim
  from modes md cross join unnest(enum_range(null::ops.city_cluster)) c cross join lim
  left join ev on ev.cluster = c and ev.mode = md.mode
 group by md.mode, c, lim.cl_lim
union all
select md.mode, 'total', 'all', null, coalesce(sum(ev.worst_case_loss), 0) + u.loss, lim.tot_lim,
       coalesce(sum(ev.worst_case_loss), 0) + u.loss > lim.tot_lim
  from modes md join unmapped u on u.mode = md.mode cross join lim left join ev on ev.mode = md.mode
 group by md.mode, u.loss, lim.tot_lim;
comment on view ops.v_exposure is 'Operator view: per mode, worst-case loss per event ladder, per cluster and in total (working orders at their worst), against the limits.';
