-- Risk events, component health, and the order queue (pgmq, installed SQL-only from the pgmq package).

create table ops.risk_events (
    id         bigint generated always as identity primary key,
    at         timestamptz not null default now(),
    kind       text not null check (kind in ('daily_loss_breaker', 'error_rate_breaker', 'limit_capped', 'position_mismatch',
                                             'stale_data', 'kill_switch', 'exchange_inactive', 'strategy_disabled', 'other')),
    severity   text not null check (severity in ('info', 'warning', 'critical')),
    city_code  text references ops.cities,
    ticker     text references ops.markets,
    detail     jsonb not null default '{}'::jsonb check (jsonb_typeof(detail) = 'object'),
    message    text not null
);
create index risk_events_at_idx on ops.risk_events (at desc);
comment on table ops.risk_events is 'Everything risk-relevant that happened: breakers, caps applied, mismatches, stale data.';
comment on column ops.risk_events.id is 'Sequence.';
comment on column ops.risk_events.at is 'When (the cycle''s as_of for cycle events).';
comment on column ops.risk_events.kind is 'What kind of event.';
comment on column ops.risk_events.severity is 'info, warning or critical.';
comment on column ops.risk_events.city_code is 'City concerned, if any.';
comment on column ops.risk_events.ticker is 'Market concerned, if any.';
comment on column ops.risk_events.detail is 'Structured detail (numbers, limits).';
comment on column ops.risk_events.message is 'One-line human message.';

create table ops.health_status (
    component        text primary key check (component in ('nws_ingest', 'kalshi_ingest', 'cycle', 'executor', 'reconciler', 'analytics', 'database')),
    last_heartbeat   timestamptz not null,
    last_ok_at       timestamptz,
    last_error_at    timestamptz,
    last_error       text check (length(last_error) <= 2000),
    ok_count         bigint not null default 0 check (ok_count >= 0),
    error_count      bigint not null default 0 check (error_count >= 0),
    degraded_after   interval not null default '10 minutes',
    down_after       interval not null default '30 minutes',
    check (degraded_after < down_after)
);
comment on table ops.health_status is 'Last heartbeat per component; health views derive ok/degraded/down from its age and recent errors.';
comment on column ops.health_status.component is 'Component name.';
comment on column ops.health_status.last_heartbeat is 'Last time the component reported anything.';
comment on column ops.health_status.last_ok_at is 'Last successful pass.';
comment on column ops.health_status.last_error_at is 'Last failure.';
comment on column ops.health_status.last_error is 'Last failure message (bounded; never secrets).';
comment on column ops.health_status.ok_count is 'Successful passes since creation.';
comment on column ops.health_status.error_count is 'Failed passes since creation.';
comment on column ops.health_status.degraded_after is 'Heartbeat age beyond which the component is degraded.';
comment on column ops.health_status.down_after is 'Heartbeat age beyond which the component is down.';

create table ops.health_events (
    id         bigint generated always as identity primary key,
    at         timestamptz not null default now(),
    component  text not null references ops.health_status,
    level      text not null check (level in ('ok', 'warning', 'error')),
    message    text not null check (length(message) <= 2000)
);
create index health_events_component_idx on ops.health_events (component, at desc);
comment on table ops.health_events is 'Append-only heartbeats and errors per component (error rate over a window comes from here).';
comment on column ops.health_events.id is 'Sequence.';
comment on column ops.health_events.at is 'When.';
comment on column ops.health_events.component is 'Component.';
comment on column ops.health_events.level is 'ok, warning or error.';
comment on column ops.health_events.message is 'What happened (bounded; never secrets).';

insert into ops.health_status (component, last_heartbeat, degraded_after, down_after) values
    ('nws_ingest',    '-infinity', '20 minutes', '90 minutes'),
    ('kalshi_ingest', '-infinity', '10 minutes', '30 minutes'),
    ('cycle',         '-infinity', '10 minutes', '30 minutes'),
    ('executor',      '-infinity', '2 minutes',  '10 minutes'),
    ('reconciler',    '-infinity', '10 minutes', '30 minutes'),
    ('analytics',     '-infinity', '60 minutes', '180 minutes'),
    ('database',      '-infinity', '10 minutes', '30 minutes');

-- pgmq 1.13, SQL-only install (no extension needed, so it works on managed Postgres too).
-- milkbot:install pgmq
select pgmq.create('order_intents');
comment on schema pgmq is 'Message queues (pgmq, SQL-only install). order_intents carries order ids from the cycle to the executor.';
