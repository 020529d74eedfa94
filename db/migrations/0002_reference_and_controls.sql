-- Reference data (cities), operator-edited controls (strategy parameters, risk limits, trading state)
-- and the audit trail of every change to those controls.

create type ops.city_cluster as enum ('Northeast', 'Midwest', 'West', 'South');
comment on type ops.city_cluster is 'Correlated-weather region; exposure is capped per cluster.';

create table ops.cities (
    code             text primary key check (code ~ '^[A-Z]{3}$'),
    name             text not null,
    cluster          ops.city_cluster not null,
    station_icao     text not null unique check (station_icao ~ '^K[A-Z]{3}$'),
    latitude         numeric(8,5) not null check (latitude between -90 and 90),
    longitude        numeric(8,5) not null check (longitude between -180 and 180),
    time_zone        text not null check (time_zone in ('America/New_York', 'America/Chicago', 'America/Denver',
                                                   'America/Phoenix', 'America/Los_Angeles', 'America/Anchorage', 'Pacific/Honolulu')),
    std_utc_offset   interval not null check (std_utc_offset between interval '-12 hours' and interval '14 hours'),
    cli_location     text not null unique check (cli_location ~ '^[A-Z]{3}$'),
    high_series      text not null unique check (high_series ~ '^KX[A-Z]+$'),
    low_series       text not null unique check (low_series ~ '^KX[A-Z]+$'),
    enabled          boolean not null default true
);
comment on table ops.cities is 'The ten settlement cities. Kalshi series per kalshi-api.md §5, stations and CLI codes per nws-api.md §3.';
comment on column ops.cities.code is 'Milkbot city code (NYC, BOS, PHL, CHI, DEN, LAX, SFO, SEA, AUS, MIA).';
comment on column ops.cities.name is 'Human name of the settlement site.';
comment on column ops.cities.cluster is 'Correlated-weather cluster for exposure caps.';
comment on column ops.cities.station_icao is 'ICAO id of the NWS settlement station (observations, /points).';
comment on column ops.cities.latitude is 'Station latitude from NWS station metadata (rounded to 4 dp before /points).';
comment on column ops.cities.longitude is 'Station longitude from NWS station metadata.';
comment on column ops.cities.time_zone is 'IANA time zone of the station.';
comment on column ops.cities.std_utc_offset is 'Local STANDARD time offset from UTC; the climate day runs midnight to midnight in it all year.';
comment on column ops.cities.cli_location is 'NWS CLI product location code (/products/types/CLI/locations/{code}); MDW for Chicago.';
comment on column ops.cities.high_series is 'Kalshi daily-high series ticker.';
comment on column ops.cities.low_series is 'Kalshi daily-low series ticker.';
comment on column ops.cities.enabled is 'Operator switch: a disabled city is ingested but never traded.';

insert into ops.cities (code, name, cluster, station_icao, latitude, longitude, time_zone, std_utc_offset, cli_location, high_series, low_series) values
    ('NYC', 'New York City, Central Park',          'Northeast', 'KNYC', 40.78333,  -73.96667, 'America/New_York',    '-05:00', 'NYC', 'KXHIGHNY',   'KXLOWTNYC'),
    ('BOS', 'Boston Logan International Airport',   'Northeast', 'KBOS', 42.36056,  -71.01056, 'America/New_York',    '-05:00', 'BOS', 'KXHIGHTBOS', 'KXLOWTBOS'),
    ('PHL', 'Philadelphia International Airport',   'Northeast', 'KPHL', 39.87327,  -75.22678, 'America/New_York',    '-05:00', 'PHL', 'KXHIGHPHIL', 'KXLOWTPHIL'),
    ('CHI', 'Chicago Midway Airport',               'Midwest',   'KMDW', 41.78417,  -87.75528, 'America/Chicago',     '-06:00', 'MDW', 'KXHIGHCHI',  'KXLOWTCHI'),
    ('DEN', 'Denver International Airport',         'Midwest',   'KDEN', 39.84658, -104.65622, 'America/Denver',      '-07:00', 'DEN', 'KXHIGHDEN',  'KXLOWTDEN'),
    ('LAX', 'Los Angeles International Airport',    'West',      'KLAX', 33.93806, -118.38889, 'America/Los_Angeles', '-08:00', 'LAX', 'KXHIGHLAX',  'KXLOWTLAX'),
    ('SFO', 'San Francisco International Airport',  'West',      'KSFO', 37.61961, -122.36558, 'America/Los_Angeles', '-08:00', 'SFO', 'KXHIGHTSFO', 'KXLOWTSFO'),
    ('SEA', 'Seattle-Tacoma International Airport', 'West',      'KSEA', 47.44472, -122.31361, 'America/Los_Angeles', '-08:00', 'SEA', 'KXHIGHTSEA', 'KXLOWTSEA'),
    ('AUS', 'Austin-Bergstrom International Airport','South',    'KAUS', 30.18304,  -97.67987, 'America/Chicago',     '-06:00', 'AUS', 'KXHIGHAUS',  'KXLOWTAUS'),
    ('MIA', 'Miami International Airport',          'South',     'KMIA', 25.79056,  -80.31639, 'America/New_York',    '-05:00', 'MIA', 'KXHIGHMIA',  'KXLOWTMIA');

-- ---------------------------------------------------------------------------------------------------
-- Operator-edited controls. Values are numeric with per-row bounds so a typo cannot set a limit to 1e9.
create table ops.strategy_params (
    strategy    text not null check (strategy in ('all', 'DailyHigh', 'DailyLow', 'Monthly')),
    name        text not null check (name ~ '^[a-z][a-z0-9_]*$'),
    value       numeric not null,
    min_value   numeric not null,
    max_value   numeric not null,
    description text not null,
    primary key (strategy, name),
    check (min_value <= max_value),
    check (value between min_value and max_value)
);
comment on table ops.strategy_params is 'Gate and model parameters; strategy ''all'' is the default, a named strategy overrides it. Edit with SQL; every change is audited in ops.control_audit.';
comment on column ops.strategy_params.strategy is 'DailyHigh, DailyLow, Monthly, or all (default for every strategy).';
comment on column ops.strategy_params.name is 'Parameter name, e.g. max_spread, min_edge.';
comment on column ops.strategy_params.value is 'Current value; must lie within [min_value, max_value].';
comment on column ops.strategy_params.min_value is 'Lowest value an operator may set.';
comment on column ops.strategy_params.max_value is 'Highest value an operator may set.';
comment on column ops.strategy_params.description is 'What the parameter does and its unit.';

create table ops.risk_limits (
    name        text primary key check (name ~ '^[a-z][a-z0-9_]*$'),
    value       numeric not null,
    min_value   numeric not null,
    max_value   numeric not null,
    description text not null,
    check (min_value <= max_value),
    check (value between min_value and max_value)
);
comment on table ops.risk_limits is 'Risk limits in dollars or contracts. Edit with SQL; every change is audited in ops.control_audit.';
comment on column ops.risk_limits.name is 'Limit name, e.g. max_contracts_per_market.';
comment on column ops.risk_limits.value is 'Current value; must lie within [min_value, max_value].';
comment on column ops.risk_limits.min_value is 'Lowest value an operator may set.';
comment on column ops.risk_limits.max_value is 'Highest value an operator may set.';
comment on column ops.risk_limits.description is 'What the limit bounds and its unit.';

insert into ops.strategy_params (strategy, name, value, min_value, max_value, description) values
    ('all', 'max_spread',            0.10, 0.01, 0.50, 'Spread gate: YES ask - YES bid must be <= this (dollars).'),
    ('all', 'min_size',              5,    0,    10000,'Liquidity gate: contracts displayed at the best ask must be >= this.'),
    ('all', 'min_open_interest',     0,    0,    1e6,  'Liquidity gate: market open interest floor (contracts).'),
    ('all', 'min_volume',            0,    0,    1e6,  'Liquidity gate: market volume floor (contracts).'),
    ('all', 'min_edge',              0.03, 0.00, 0.50, 'Edge gate: model p - ask - taker fee per contract must be >= this (dollars).'),
    ('all', 'max_weather_age_min',   120,  5,    1440, 'Staleness gate: newest forecast must be younger than this (minutes).'),
    ('all', 'max_quote_age_min',     15,   1,    240,  'Staleness gate: newest orderbook snapshot must be younger than this (minutes).'),
    ('all', 'close_buffer_min',      30,   0,    720,  'Timing gate: no new orders within this many minutes of close.'),
    ('all', 'kelly_fraction',        0.25, 0.00, 1.00, 'Sizing: fraction of the full Kelly stake.'),
    ('all', 'max_p',                 0.97, 0.50, 1.00, 'Sanity: never trade on a model probability above this.'),
    ('all', 'cycle_window_min',      5,    1,    60,   'Intent keys bucket the decision time into windows of this many minutes.'),
    ('all', 'calibration_window_days', 60, 7,    365,  'Calibration: rolling window of CLI finals used to fit bias and sigma.');

insert into ops.risk_limits (name, value, min_value, max_value, description) values
    ('bankroll',                  1000, 0, 1e7,  'Capital the sizing works from (dollars).'),
    ('max_contracts_per_market',    50, 0, 1e5,  'Largest absolute position in one market (contracts).'),
    ('max_event_loss',              50, 0, 1e6,  'Worst-case loss across one event ladder''s outcomes (dollars).'),
    ('max_cluster_exposure',       200, 0, 1e6,  'Worst-case loss summed over the events of one cluster (dollars).'),
    ('max_total_exposure',         500, 0, 1e7,  'Worst-case loss summed over all events (dollars).'),
    ('daily_loss_limit',           100, 0, 1e6,  'Circuit breaker: realised + marked loss today beyond this halts trading (dollars).'),
    ('error_rate_max',               5, 1, 1000, 'Error breaker: this many rejects or unknown outcomes ...'),
    ('error_rate_window_min',       15, 1, 1440, '... within this many minutes set trading state REDUCING.'),
    ('max_position_mismatches',      1, 0, 1000, 'Reconciler: more position mismatches than this set REDUCING.');

-- ---------------------------------------------------------------------------------------------------
create type ops.trading_state_kind as enum ('ACTIVE', 'REDUCING', 'HALTED');
comment on type ops.trading_state_kind is 'ACTIVE: trade. REDUCING: only orders that reduce exposure. HALTED: no new orders; cancels allowed.';

create table ops.trading_state (
    singleton  boolean primary key default true check (singleton),
    state      ops.trading_state_kind not null default 'ACTIVE',
    reason     text not null default 'initial state',
    changed_at timestamptz not null default now(),
    changed_by text not null default session_user
);
comment on table ops.trading_state is 'The one kill-switch row. Set HALTED/REDUCING/ACTIVE with SQL; a HALT set by a breaker is cleared only by an operator.';
comment on column ops.trading_state.singleton is 'Always true: there is exactly one row.';
comment on column ops.trading_state.state is 'Current trading state.';
comment on column ops.trading_state.reason is 'Why the state was last changed.';
comment on column ops.trading_state.changed_at is 'When the state was last changed.';
comment on column ops.trading_state.changed_by is 'Database user who last changed it.';
insert into ops.trading_state default values;

-- ---------------------------------------------------------------------------------------------------
create table ops.control_audit (
    id          bigint generated always as identity primary key,
    at          timestamptz not null default clock_timestamp(),
    db_user     text not null default session_user,
    acting_role text not null default current_user,
    table_name  text not null check (table_name in ('strategy_params', 'risk_limits', 'trading_state', 'cities')),
    operation   text not null check (operation in ('INSERT', 'UPDATE', 'DELETE')),
    old_row     jsonb,
    new_row     jsonb,
    check (old_row is not null or new_row is not null)
);
comment on table ops.control_audit is 'Append-only trail of every change to operator controls: who, when, old, new.';
comment on column ops.control_audit.id is 'Sequence of the change.';
comment on column ops.control_audit.at is 'Wall-clock time of the change.';
comment on column ops.control_audit.db_user is 'Login user (session_user) that made the change.';
comment on column ops.control_audit.acting_role is 'Role in effect (current_user), e.g. milkbot_cycle for a breaker.';
comment on column ops.control_audit.table_name is 'Which control table changed.';
comment on column ops.control_audit.operation is 'INSERT, UPDATE or DELETE.';
comment on column ops.control_audit.old_row is 'Row before the change (null for INSERT).';
comment on column ops.control_audit.new_row is 'Row after the change (null for DELETE).';

-- Invoker rights, so current_user is the role that made the change (a definer function would record
-- its owner). Editors therefore need INSERT on the audit table; the guard below accepts rows only from
-- this trigger (trigger depth > 1) and stamps who/when itself, so nobody can forge or backdate a row.
create function ops.audit_control_change() returns trigger
language plpgsql set search_path = pg_catalog, ops as $$
begin
    insert into ops.control_audit (table_name, operation, old_row, new_row)
    values (tg_table_name, tg_op,
            case when tg_op in ('UPDATE', 'DELETE') then to_jsonb(old) end,
            case when tg_op in ('INSERT', 'UPDATE') then to_jsonb(new) end);
    return null;
end
$$;
comment on function ops.audit_control_change() is 'Trigger: appends every change of a control table to ops.control_audit.';

create function ops.control_audit_guard() returns trigger
language plpgsql set search_path = pg_catalog, ops as $$
begin
    if pg_trigger_depth() < 2 then
        raise exception 'ops.control_audit is written only by the audit trigger' using errcode = 'insufficient_privilege';
    end if;
    new.at := clock_timestamp();
    new.db_user := session_user;
    new.acting_role := current_user;
    return new;
end
$$;
comment on function ops.control_audit_guard() is 'Trigger: refuses direct inserts into ops.control_audit and stamps who/when.';
create trigger guard before insert on ops.control_audit for each row execute function ops.control_audit_guard();

create trigger audit after insert or update or delete on ops.strategy_params for each row execute function ops.audit_control_change();
create trigger audit after insert or update or delete on ops.risk_limits     for each row execute function ops.audit_control_change();
create trigger audit after insert or update or delete on ops.trading_state   for each row execute function ops.audit_control_change();
create trigger audit after insert or update or delete on ops.cities          for each row execute function ops.audit_control_change();

create function ops.forbid_audit_rewrite() returns trigger language plpgsql as $$
begin
    raise exception 'ops.control_audit is append-only' using errcode = 'insufficient_privilege';
end
$$;
create trigger append_only before update or delete on ops.control_audit for each statement execute function ops.forbid_audit_rewrite();
