-- The cycle's working tables (issue 25 §3, the cycle's speed): session temp tables created once per
-- session and emptied at every commit, instead of created and dropped by every cycle. Creating six temp
-- tables with their index and statistics cost ~10 ms of catalog writes per cycle, and every statement
-- that read a table created this cycle was planned again; a table kept for the session keeps its
-- statistics and the plans cached on it.
--
-- The shapes are written here. cycle_eval and cycle_outcomes take theirs from the functions that fill
-- them; a session whose tables were made by other definitions of these functions (a migration re-applied
-- them while it ran) drops and recreates its tables: the signature is the definitions' row versions.
-- Empty on return: ON COMMIT DELETE ROWS empties them at every commit, and a second cycle in the same
-- transaction (a replay) finds the first one's rows deleted here. No indexes: emptying a table at commit
-- rebuilds its indexes, which rewrites its catalog row and so throws away every plan that reads it (a
-- committed per-event cycle was re-planned each time: 18 ms instead of 6); hash joins serve these sizes.
create or replace function ops.cycle_tables()
returns void
language plpgsql
set search_path = pg_catalog, ops
as $$
declare
    v_shape text := (select string_agg(p.xmin::text, '.' order by p.oid) from pg_proc p
                      where p.oid in ('ops.cycle_tables()'::regprocedure,
                                      'ops.evaluate_markets(timestamptz, timestamptz, text[])'::regprocedure,
                                      'ops.event_outcomes(timestamptz, ops.trading_mode, boolean, bigint[], text[])'::regprocedure));
    v_table text;
begin
    if to_regclass('pg_temp.cycle_retire') is not null
       and current_setting('milkbot.cycle_tables', true) is not distinct from v_shape then
        delete from pg_temp.cycle_eval;  delete from pg_temp.cycle_book;     delete from pg_temp.cycle_outcomes;
        delete from pg_temp.cycle_shrink; delete from pg_temp.cycle_decision; delete from pg_temp.cycle_retire;
        return;
    end if;
    -- (not `drop table if exists`: before the session's first temp table its temp schema does not exist,
    -- and that says so in a notice to the client)
    foreach v_table in array array['cycle_eval', 'cycle_book', 'cycle_outcomes', 'cycle_shrink', 'cycle_decision', 'cycle_retire'] loop
        if to_regclass('pg_temp.' || v_table) is not null then
            execute format('drop table pg_temp.%I', v_table);
        end if;
    end loop;
    -- every open market's evaluation (ops.evaluate_markets): its columns, not run (no data)
    create temp table cycle_eval on commit delete rows as
        select * from ops.evaluate_markets('-infinity') with no data;
    -- a market's evaluation with what this book holds and works there, and its live order
    create temp table cycle_book (
        ticker text, strategy ops.strategy, event_ticker text, cluster ops.city_cluster, side text, price numeric,
        edge numeric, all_pass boolean, eval_reason text, size_at_best numeric, rank_in_event bigint,
        kelly_fraction numeric, cycle_window_min numeric, dir integer, cost numeric, fee1 numeric, held numeric,
        working numeric, same_side_working numeric, live_id bigint, live_state ops.order_state, live_side text,
        live_remaining numeric, live_asked numeric, live_win numeric, live_lose numeric, live_lpc numeric,
        live_kept boolean
    ) on commit delete rows;
    -- every event's payoff in each of its outcomes (ops.event_outcomes)
    create temp table cycle_outcomes on commit delete rows as
        select * from ops.event_outcomes('-infinity', 'paper', true, '{}', null) with no data;
    -- kept live orders in a cluster or total over its limit: at most this many may stay
    create temp table cycle_shrink (ticker text, keep_cap numeric) on commit delete rows;
    -- the cycle's decision per market: target, size, what becomes of its live order, and why
    create temp table cycle_decision (
        ticker text, strategy ops.strategy, event_ticker text, side text, price numeric, edge numeric,
        all_pass boolean, cycle_window_min numeric, held numeric, working numeric, live_id bigint,
        live_state ops.order_state, live_asked numeric, target_contracts numeric, size numeric, live_action text,
        live_keep numeric, reduces_exposure boolean, reason text, trade boolean, sizing jsonb
    ) on commit delete rows;
    -- live orders this cycle cancels or decreases, locked
    create temp table cycle_retire (
        id bigint, state ops.order_state, client_order_id text, filled_count numeric, retarget boolean,
        action text, live_keep numeric
    ) on commit delete rows;
    perform set_config('milkbot.cycle_tables', v_shape, false);   -- undone with the tables if this transaction rolls back
end
$$;
comment on function ops.cycle_tables() is 'The cycle''s session temp tables, created once per session (or again when the definitions that shape them changed) and empty on return.';

-- Statistics for a cycle table when its row count left the range its statistics describe (a factor of 2
-- either way, with slack for tiny tables): a per-event cycle's handful of rows and a sweep's thousands
-- must not share a plan (nested loops over thousands go quadratic). ANALYZE invalidates the plans on the
-- table, so it runs only on such a change, not every cycle.
create or replace function ops.cycle_table_rows(p_table regclass, p_rows bigint)
returns void
language plpgsql
set search_path = pg_catalog, ops
as $$
declare
    v_known real := (select c.reltuples from pg_class c where c.oid = p_table);
begin
    if v_known < 0 or p_rows > 2 * v_known + 16 or p_rows < v_known / 2 - 16 then
        execute format('analyze %s', p_table);
    end if;
end
$$;
comment on function ops.cycle_table_rows(regclass, bigint) is 'ANALYZE a cycle table only when its row count left the range its statistics were taken at (factor 2).';
