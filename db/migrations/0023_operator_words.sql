-- An operator who asks "why?" (issue 28 §3).
--
-- 1. What sized each new order, and which bound was the binding one, recorded on the signal: the cycle's
--    reason text carried the numbers but not which of them decided (`milkbot explain` reads this).
alter table ops.signals add column sizing jsonb check (sizing is null or jsonb_typeof(sizing) = 'object');
comment on column ops.signals.sizing is 'For the event''s best candidate: the sizing bounds (Kelly target, market cap, event loss, book, cluster and total room) and which one bound the size ("bound").';

-- 2. The control audit names the person, not only the role: the `milkbot.operator` setting of the
--    session (`milkbot db psql` sets it from MILKBOT_OPERATOR or the login), else the database login.
alter table ops.control_audit add column operator text;
comment on column ops.control_audit.operator is 'The person who made the change: the session''s milkbot.operator setting (set by `milkbot db psql`), else the database login.';

create or replace function ops.control_audit_guard() returns trigger
language plpgsql set search_path = pg_catalog, ops as $$
begin
    if pg_trigger_depth() < 2 then
        raise exception 'ops.control_audit is written only by the audit trigger' using errcode = 'insufficient_privilege';
    end if;
    new.at := clock_timestamp();
    new.db_user := session_user;
    new.acting_role := current_user;
    new.operator := coalesce(nullif(btrim(current_setting('milkbot.operator', true)), ''), session_user);
    return new;
end
$$;
comment on function ops.control_audit_guard() is 'Trigger: refuses direct inserts into ops.control_audit and stamps who (login, role, person) and when.';
