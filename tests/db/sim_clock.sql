-- The accelerated sim's clock in the database (issue 28 §1): with a fresh ops.sim_clock row the one
-- public cut-off, "today" and the served time follow the sim clock; a stale row (a sim that died) is
-- ignored; the cut-off maps back to the wall instant the control audit is stamped with; without a row
-- everything is the wall clock.
begin;
select plan(8);

select is((select now from analytics.clock), now(), 'no sim: the wall clock');
select is((select at from analytics.public_cutoff), now() - interval '60 minutes', 'no sim: the cut-off is an hour back');
select is((select audit_at from analytics.public_cutoff), now() - interval '60 minutes', 'no sim: the audit cut-off is the same');

-- a sim that started 10 wall minutes ago at 2030-01-01 00:00Z, 144 times real speed: 24 sim hours on
insert into ops.sim_clock (sim_at, wall_at, rate, world) values ('2030-01-01 00:00Z', now() - interval '10 minutes', 144, 'a test world');
select is((select now from analytics.clock), '2030-01-02 00:00Z'::timestamptz, 'the sim clock: 10 wall minutes x 144 = one sim day');
select is((select at from analytics.public_cutoff), '2030-01-01 23:00Z'::timestamptz, 'the public cut-off is an hour back in sim time');
-- the sim cut-off (23 sim hours after the start) was read 23 h / 144 = 9 min 35 s after wall_at
select is((select audit_at from analytics.public_cutoff), now() - interval '10 minutes' + interval '9 minutes 35 seconds',
          'and the wall instant of that cut-off is where the audit trail is cut');
select is((select sim_world from api.status), 'a test world', 'the public status says what the sim world is');

update ops.sim_clock set alive_at = now() - interval '31 seconds';
select is((select now from analytics.clock), now(), 'a sim that stopped refreshing its row leaves the wall clock');

select * from finish();
rollback;
