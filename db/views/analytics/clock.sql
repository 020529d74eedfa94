-- The database's one reading of "now" for everything that is not a recorded fact: the wall clock, or in
-- the accelerated sim the shared sim clock (ops.sim_clock, same formula as milkbot.clock) while the sim
-- keeps its row fresh -- a stopped or dead sim leaves the wall clock. A view (not a function) so that the
-- public views built on it need no EXECUTE grant for web_anon. sim_at / wall_at / rate (null outside a
-- sim) let a sim instant be turned back into the wall instant the database stamps its own audit with.
create or replace view analytics.clock as
with sim as (select s.* from ops.sim_clock s where s.alive_at > now() - interval '30 seconds')
select coalesce((select s.sim_at + (now() - s.wall_at) * s.rate from sim s), now()) as now,
       (select s.world from sim s) as sim_world,
       (select s.sim_at from sim s) as sim_at, (select s.wall_at from sim s) as wall_at, (select s.rate from sim s) as rate;
comment on view analytics.clock is 'Now: the wall clock, or the accelerated sim''s clock while ops.sim_clock holds a fresh row (with what the sim world is made of and the clock''s parameters).';
