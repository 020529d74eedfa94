-- One row for the banner: the trading state as it stood at the public cut-off (a halt may follow a loss
-- limit, so it is as delayed as the P&L it reveals; its reason text is never public) and the cut-off itself.
-- From the audit trail of ops.trading_state: the newest change at or before the cut-off; failing that,
-- the state before the first change after it; failing that (no change since), the current row.
create or replace view api.status as
with cutoff as (select at, now, audit_at from analytics.public_cutoff),
changes as (select a.at, a.id, a.old_row, a.new_row from ops.control_audit a where a.table_name = 'trading_state'),
before_cutoff as (
    select c.new_row ->> 'state' as state, (c.new_row ->> 'changed_at')::timestamptz as since
      from changes c cross join cutoff where c.at <= cutoff.audit_at and c.new_row is not null
     order by c.at desc, c.id desc limit 1
),
after_cutoff as (
    select c.old_row ->> 'state' as state, (c.old_row ->> 'changed_at')::timestamptz as since
      from changes c cross join cutoff where c.at > cutoff.audit_at and c.old_row is not null
     order by c.at, c.id limit 1
),
unchanged as (select t.state::text as state, t.changed_at as since from ops.trading_state t)
select s.state as trading_state, case when s.since <= (select at from cutoff) then s.since end as trading_state_since, (select at from cutoff) as delayed_to, (select now from cutoff) as served_at,
       (select k.sim_world from analytics.clock k) as sim_world
  from (select * from before_cutoff
        union all select * from after_cutoff where not exists (select from before_cutoff)
        union all select * from unchanged where not exists (select from before_cutoff) and not exists (select from after_cutoff)) s;
comment on view api.status is 'Public: the trading state (ACTIVE / REDUCING / HALTED) as of the 60-minute cut-off, without its reason; in the sim, what the sim world is made of (sim_world, else null).';
