-- Operator controls refuse a bad value in words (issue 28 §3): "risk limit max_cluster_exposure: 5000 is
-- above its maximum 2000" rather than `violates check constraint "risk_limits_check1"`. The check
-- constraints stay as the backstop; a BEFORE trigger runs first and names the control, its bounds, the
-- value tried and what the control bounds.
create or replace function ops.control_bounds_in_words() returns trigger
language plpgsql set search_path = pg_catalog, ops as $$
declare
    -- (the two tables differ by `strategy`: read it through jsonb, which a record of either type has)
    v_what text := case tg_table_name when 'risk_limits' then format('risk limit %s', new.name)
                                      else format('strategy parameter %s (%s)', new.name, to_jsonb(new)->>'strategy') end;
begin
    if new.min_value is null or new.max_value is null or new.value is null then
        raise exception '%: value, min_value and max_value are all required', v_what
            using errcode = 'not_null_violation';
    end if;
    if new.min_value > new.max_value then
        raise exception '%: the bounds are upside down (min_value % > max_value %)', v_what, new.min_value, new.max_value
            using errcode = 'check_violation', hint = 'min_value must not exceed max_value';
    end if;
    if new.value < new.min_value or new.value > new.max_value then
        raise exception '%: % is %', v_what, new.value,
                case when new.value < new.min_value then format('below its minimum %s', new.min_value)
                     else format('above its maximum %s', new.max_value) end
            using errcode = 'check_violation',
                  detail = format('allowed: %s to %s; it bounds: %s', new.min_value, new.max_value, new.description),
                  hint = case when tg_op = 'UPDATE' then format('it is %s now; widening its bounds (min_value/max_value) is a deliberate, audited change of its own', old.value) end;
    end if;
    return new;
end
$$;
comment on function ops.control_bounds_in_words() is 'Trigger: refuses an out-of-bounds control value with a message naming the control, the value tried, its bounds and what it bounds.';

drop trigger if exists bounds_in_words on ops.risk_limits;
create trigger bounds_in_words before insert or update on ops.risk_limits
    for each row execute function ops.control_bounds_in_words();
drop trigger if exists bounds_in_words on ops.strategy_params;
create trigger bounds_in_words before insert or update on ops.strategy_params
    for each row execute function ops.control_bounds_in_words();
