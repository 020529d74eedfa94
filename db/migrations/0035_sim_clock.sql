-- The accelerated sim's clock (issue 28 §1). `milkbot up --sim` runs its processes on a clock that reads
-- sim_at + (wall now - wall_at) * rate; this one row lets the database read the same clock, so the public
-- cut-off, "today" and staleness follow sim time in a demo (analytics.clock). The sim refreshes alive_at
-- every few seconds and the clock is honoured only while it is fresh (30 s): a sim that stopped or died
-- leaves the database on the wall clock, whatever is left in the table (and `milkbot up` deletes it).

create table ops.sim_clock (
    one      boolean primary key default true check (one),
    sim_at   timestamptz not null,
    wall_at  timestamptz not null,
    rate     numeric not null check (rate > 0 and rate <= 100000),
    world    text not null,
    set_at   timestamptz not null default now(),
    alive_at timestamptz not null default now()
);
comment on table ops.sim_clock is 'Sim only (one row or none): the accelerated demo clock the database shares with the sim''s processes; absent in a real deployment.';
comment on column ops.sim_clock.one is 'Always true: at most one row.';
comment on column ops.sim_clock.sim_at is 'The sim instant at wall_at.';
comment on column ops.sim_clock.wall_at is 'The wall-clock instant at which the sim clock read sim_at.';
comment on column ops.sim_clock.rate is 'Sim seconds per wall second (144: a day per 10 minutes).';
comment on column ops.sim_clock.world is 'What the sim world is made of, in words (shown on the dashboard''s About).';
comment on column ops.sim_clock.set_at is 'When milkbot up --sim wrote it.';
comment on column ops.sim_clock.alive_at is 'Refreshed by the running sim every few seconds; the row counts only while this is under 30 s old.';

-- The exchange-status age the timing gate accepts, a parameter like the other staleness limits (it was a
-- constant 15 minutes): the accelerated sim's operator scales all three to its pace.
insert into ops.strategy_params (strategy, name, value, min_value, max_value, description) values
    ('all', 'max_status_age_min', 15, 1, 1440, 'Timing gate: the exchange status (GET /exchange/status) must be at most this many minutes old at the decision.');
drop function if exists ops.gate_timing(timestamptz, timestamptz, timestamptz, numeric, boolean, boolean, timestamptz);
