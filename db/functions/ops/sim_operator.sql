-- The accelerated sim's operator (`milkbot up --sim`, milkbot/supervisor.py): the two things a person
-- running the demo would do by hand, as rules. Sim only: a real deployment never calls them. The caller
-- sets milkbot.operator = 'sim', so the control audit names who changed what.

-- The staleness limits, scaled to the sim's pace: a pass of the ingest loop takes some wall seconds, which
-- on an accelerated clock are rate times as many sim seconds -- unscaled, every quote, forecast,
-- observation and exchange status would be "stale" by the time the cycle reads it. Raises each to
-- p_need_min (never lowers one, never above its maximum); returns what it changed, for the restore at stop.
create or replace function ops.sim_pace_limits(p_need_min numeric)
returns table (strategy text, name text, old_value numeric, new_value numeric)
language sql volatile
set search_path = pg_catalog, ops
begin atomic
    with old as (
        select sp.strategy, sp.name, sp.value from ops.strategy_params sp
         where sp.name in ('max_quote_age_min', 'max_weather_age_min', 'max_observation_age_min', 'max_status_age_min'))
    update ops.strategy_params p set value = least(p.max_value, greatest(p.value, p_need_min))
      from old
     where p.strategy = old.strategy and p.name = old.name and p.value < least(p.max_value, p_need_min)
    returning p.strategy, p.name, old.value, p.value;
end;
comment on function ops.sim_pace_limits(numeric) is 'Sim only: raise the staleness limits to p_need_min minutes (the sim''s pass at its pace); returns strategy, name, old and new value.';

-- A daily loss halt is cleared on the next trading day, as the demo's operator would (the cycle itself
-- only ever tightens the state). Only that breaker's halt, never a person's halt or another breaker's,
-- and only once the clock (the sim's, analytics.clock) is in a trading day after the halt.
create or replace function ops.sim_resume_after_daily_loss()
returns boolean
-- PL/pgSQL: its body reads analytics.clock, a view loaded after the functions (db/load_order)
language plpgsql volatile
set search_path = pg_catalog, ops
as $$
declare
    v_now timestamptz := (select k.now from analytics.clock k);
begin
    update ops.trading_state
       set state = 'ACTIVE', changed_at = v_now, changed_by = 'sim',
           reason = 'sim: the demo''s operator resumes on the next trading day after a daily loss halt'
     where state = 'HALTED' and changed_by = 'ops.run_cycle' and reason like 'daily loss breaker%'
       and ops.trading_day_start(v_now) > changed_at;
    return found;
end
$$;
comment on function ops.sim_resume_after_daily_loss() is 'Sim only: clear a daily loss breaker''s HALT once the (sim) clock is in a later trading day; true when it did.';
