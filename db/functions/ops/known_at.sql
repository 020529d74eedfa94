-- Rows kept current in place, as the database held them at p_known_at (see migration 0021): the current
-- row, with every change recorded after p_known_at undone (the row the first such change replaced; none
-- when that change inserted it). p_known_at = 'infinity' is simply the current rows. A live cycle passes
-- the moment it read them (ops.cycles.known_at), so a replay reads what it read.

-- An operator control table (audited in ops.control_audit) as it stood at p_known_at, typed by its row:
--     select * from ops.control_at(null::ops.strategy_params, p_known_at)
-- Nothing changed since p_known_at (a live cycle): the table itself.
create or replace function ops.control_at(p_row anyelement, p_known_at timestamptz default 'infinity')
returns setof anyelement
language plpgsql stable
rows 20     -- control tables are small: the default estimate (1,000 rows) steers the joins around them wrong
set search_path = pg_catalog, ops
as $fn$
declare
    v_type  regtype := pg_typeof(p_row);
    v_table text := case v_type when 'ops.strategy_params'::regtype then 'strategy_params'
                                when 'ops.risk_limits'::regtype then 'risk_limits'
                                when 'ops.trading_state'::regtype then 'trading_state'
                                when 'ops.cities'::regtype then 'cities' end;
    -- each control table's key (what one audited change is a change of)
    v_key   text[] := case v_table when 'strategy_params' then '{strategy,name}' when 'risk_limits' then '{name}'
                                   when 'trading_state' then '{singleton}' when 'cities' then '{code}' end;
begin
    if v_key is null then
        raise exception 'control_at: % is not an audited control table', pg_typeof(p_row) using errcode = 'invalid_parameter_value';
    end if;
    -- the common case, nothing changed since p_known_at: the table as it is, by a static query (its plan
    -- cached; a dynamic one is parsed and planned at every call, and a cycle makes seven)
    if not exists (select 1 from ops.control_audit a where a.table_name = v_table and a.at > p_known_at) then
        case v_table
            when 'strategy_params' then return query select t.* from ops.strategy_params t;
            when 'risk_limits'     then return query select t.* from ops.risk_limits t;
            when 'trading_state'   then return query select t.* from ops.trading_state t;
            else                        return query select t.* from ops.cities t;
        end case;
        return;
    end if;
    return query execute format($q$
        with later as (   -- the first change of each key after p_known_at: its old row is the row then
            select distinct on (k.key) k.key, a.old_row
              from ops.control_audit a
             cross join lateral (select array(select coalesce(a.old_row, a.new_row) ->> c from unnest($1) c) as key) k
             where a.table_name = %L and a.at > $2
             order by k.key, a.id)
        select t.* from ops.%I t
         where not exists (select 1 from later l where l.key = array(select to_jsonb(t) ->> c from unnest($1) c))
        union all
        select r.* from later l cross join lateral jsonb_populate_record($3, l.old_row) r where l.old_row is not null$q$,
        v_table, v_table)
    using v_key, p_known_at, p_row;
end
$fn$;
comment on function ops.control_at(anyelement, timestamptz) is 'An audited control table (named by its row type) as it stood at p_known_at (default: now), from the current rows and ops.control_audit.';

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
    with later as materialized (
        select distinct on (u.key) u.key, u.old_row from ops.row_undo u
         where u.table_name = 'markets' and u.at > p_known_at
         order by u.key, u.id)
    -- unchanged since p_known_at (every market, in a live cycle): the row itself
    select m.* from ops.markets m
     where m.first_seen_at <= p_known_at
       and not exists (select 1 from later l where l.key = m.ticker)
       and (p_open_at is null or (m.status in ('initialized', 'active') and m.close_time > p_open_at))
    union all
    -- changed since: the row with the columns a decision reads as they were
    select k.* from later l
      join ops.markets m on m.ticker = l.key
     cross join lateral jsonb_populate_record(m, l.old_row) k
     where m.first_seen_at <= p_known_at
       and (p_open_at is null or (k.status in ('initialized', 'active') and k.close_time > p_open_at));
end;
comment on function ops.markets_at(timestamptz, timestamptz) is 'ops.markets as the database held them at p_known_at (default: now); with p_open_at, only those open for trading then.';
