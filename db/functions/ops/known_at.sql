-- Rows kept current in place, as the database held them at p_known_at (see migration 0021): the current
-- row, with every change recorded after p_known_at undone (the row the first such change replaced; none
-- when that change inserted it). p_known_at = 'infinity' is simply the current rows. A live cycle passes
-- the moment it read them (ops.cycles.known_at), so a replay reads what it read.

-- An operator control table (audited in ops.control_audit), rows as jsonb; p_key names its key columns.
create or replace function ops.control_rows_at(p_table text, p_key text[], p_known_at timestamptz)
returns setof jsonb
language plpgsql stable
set search_path = pg_catalog, ops
as $fn$
begin
    if p_table not in ('strategy_params', 'risk_limits', 'trading_state', 'cities') then
        raise exception 'control_rows_at: % is not an audited control table', p_table using errcode = 'invalid_parameter_value';
    end if;
    return query execute format($q$
        with later as (   -- the first change of each key after p_known_at: its old row is the row then
            select distinct on (k.key) k.key, a.old_row
              from ops.control_audit a
             cross join lateral (select array(select coalesce(a.old_row, a.new_row) ->> c from unnest($1) c) as key) k
             where a.table_name = %L and a.at > $2
             order by k.key, a.id)
        select to_jsonb(t) from ops.%I t
         where not exists (select 1 from later l where l.key = array(select to_jsonb(t) ->> c from unnest($1) c))
        union all
        select l.old_row from later l where l.old_row is not null$q$, p_table, p_table)
    using p_key, p_known_at;
end
$fn$;
comment on function ops.control_rows_at(text, text[], timestamptz) is 'Rows of an audited control table as they stood at p_known_at (jsonb), from the current rows and ops.control_audit.';

create or replace function ops.strategy_params_at(p_known_at timestamptz default 'infinity')
returns setof ops.strategy_params
language sql stable rows 50
begin atomic
    -- no change since p_known_at (a live cycle): the table itself, without the dynamic undo
    select t.* from ops.strategy_params t
     where not exists (select 1 from ops.control_audit a where a.table_name = 'strategy_params' and a.at > p_known_at)
    union all
    select r.* from ops.control_rows_at('strategy_params', '{strategy,name}', p_known_at) j cross join lateral jsonb_populate_record(null::ops.strategy_params, j) r
     where exists (select 1 from ops.control_audit a where a.table_name = 'strategy_params' and a.at > p_known_at);
end;
comment on function ops.strategy_params_at(timestamptz) is 'ops.strategy_params as it stood at p_known_at (default: now).';

create or replace function ops.risk_limits_at(p_known_at timestamptz default 'infinity')
returns setof ops.risk_limits
language sql stable rows 20
begin atomic
    -- no change since p_known_at (a live cycle): the table itself, without the dynamic undo
    select t.* from ops.risk_limits t
     where not exists (select 1 from ops.control_audit a where a.table_name = 'risk_limits' and a.at > p_known_at)
    union all
    select r.* from ops.control_rows_at('risk_limits', '{name}', p_known_at) j cross join lateral jsonb_populate_record(null::ops.risk_limits, j) r
     where exists (select 1 from ops.control_audit a where a.table_name = 'risk_limits' and a.at > p_known_at);
end;
comment on function ops.risk_limits_at(timestamptz) is 'ops.risk_limits as they stood at p_known_at (default: now).';

create or replace function ops.cities_at(p_known_at timestamptz default 'infinity')
returns setof ops.cities
language sql stable rows 20
begin atomic
    -- no change since p_known_at (a live cycle): the table itself, without the dynamic undo
    select t.* from ops.cities t
     where not exists (select 1 from ops.control_audit a where a.table_name = 'cities' and a.at > p_known_at)
    union all
    select r.* from ops.control_rows_at('cities', '{code}', p_known_at) j cross join lateral jsonb_populate_record(null::ops.cities, j) r
     where exists (select 1 from ops.control_audit a where a.table_name = 'cities' and a.at > p_known_at);
end;
comment on function ops.cities_at(timestamptz) is 'ops.cities (enabled and the rest) as they stood at p_known_at (default: now).';

create or replace function ops.trading_state_at(p_known_at timestamptz default 'infinity')
returns setof ops.trading_state
language sql stable rows 1
begin atomic
    -- no change since p_known_at (a live cycle): the table itself, without the dynamic undo
    select t.* from ops.trading_state t
     where not exists (select 1 from ops.control_audit a where a.table_name = 'trading_state' and a.at > p_known_at)
    union all
    select r.* from ops.control_rows_at('trading_state', '{singleton}', p_known_at) j cross join lateral jsonb_populate_record(null::ops.trading_state, j) r
     where exists (select 1 from ops.control_audit a where a.table_name = 'trading_state' and a.at > p_known_at);
end;
comment on function ops.trading_state_at(timestamptz) is 'The trading state as it stood at p_known_at (default: now).';

-- The exchange status as the database held it at p_known_at (its fetched_at says how old it was then).
create or replace function ops.exchange_status_at(p_known_at timestamptz default 'infinity')
returns setof ops.exchange_status
language sql stable rows 1
begin atomic
    with later as (select u.old_row from ops.row_undo u
                    where u.table_name = 'exchange_status' and u.at > p_known_at order by u.id limit 1)
    select s.* from ops.exchange_status s where not exists (select 1 from later)
    union all
    select (jsonb_populate_record(null::ops.exchange_status, l.old_row)).* from later l where l.old_row is not null;
end;
comment on function ops.exchange_status_at(timestamptz) is 'ops.exchange_status as the database held it at p_known_at (default: now).';

-- Markets as the database held them at p_known_at: first seen by then, with status, times, strikes, fees
-- and volume as they were (columns no decision reads are today's). With p_open_at: only the markets open
-- for trading at p_open_at as known then (current rows are filtered first, so only markets open now or
-- changed since p_known_at are looked at).
create or replace function ops.markets_at(p_known_at timestamptz default 'infinity', p_open_at timestamptz default null)
returns setof ops.markets
language sql stable
begin atomic
    with later as (
        select distinct on (u.key) u.key, u.old_row from ops.row_undo u
         where u.table_name = 'markets' and u.at > p_known_at
         order by u.key, u.id),
    cand as (
        select m as cur, l.old_row
          from ops.markets m
          left join later l on l.key = m.ticker
         where m.first_seen_at <= p_known_at
           and (p_open_at is null or l.key is not null or (m.status in ('initialized', 'active') and m.close_time > p_open_at)))
    -- (a function in FROM runs once per row; a composite expanded with .* would run once per column)
    select k.* from cand c cross join lateral jsonb_populate_record(c.cur, coalesce(c.old_row, '{}')) k
     where p_open_at is null or (k.status in ('initialized', 'active') and k.close_time > p_open_at);
end;
comment on function ops.markets_at(timestamptz, timestamptz) is 'ops.markets as the database held them at p_known_at (default: now); with p_open_at, only those open for trading then.';
