-- Workers report health through this one function; they need no grant on the health tables.
create or replace function ops.heartbeat(p_component text, p_ok boolean, p_message text default null)
returns void
language plpgsql security definer set search_path = pg_catalog, ops as $$
declare
    msg text := left(coalesce(p_message, case when p_ok then 'ok' else 'error' end), 2000);
begin
    update ops.health_status
       set last_heartbeat = now(),
           last_ok_at     = case when p_ok then now() else last_ok_at end,
           last_error_at  = case when p_ok then last_error_at else now() end,
           last_error     = case when p_ok then last_error else msg end,
           ok_count       = ok_count + p_ok::int,
           error_count    = error_count + (not p_ok)::int,
           -- a tumbling 30-minute window: the first report after it ends starts the next one
           window_ok      = case when window_start <= now() - interval '30 minutes' then 0 else window_ok end + p_ok::int,
           window_errors  = case when window_start <= now() - interval '30 minutes' then 0 else window_errors end + (not p_ok)::int,
           window_start   = case when window_start <= now() - interval '30 minutes' then now() else window_start end
     where component = p_component;
    if not found then
        raise exception 'unknown health component %', p_component using errcode = 'invalid_parameter_value';
    end if;
    if not p_ok then
        insert into ops.health_events (component, level, message) values (p_component, 'error', msg);
    end if;
    -- retention by count, through the primary key (not by time: a replayed cycle stamps its events
    -- with its as_of, which may be long past)
    delete from ops.health_events where id <= (select max(id) from ops.health_events) - 100000;
end
$$;
comment on function ops.heartbeat(text, boolean, text) is 'Record a heartbeat (ok) or failure for a component: updates ops.health_status and its 30-minute window; failures also go to ops.health_events.';

create or replace function ops.health_event(p_component text, p_level text, p_message text)
returns void
language sql security definer set search_path = pg_catalog, ops
begin atomic
    insert into ops.health_events (component, level, message) values (p_component, p_level, left(p_message, 2000));
end;
comment on function ops.health_event(text, text, text) is 'Record a health event (e.g. stale data) without counting a failed pass.';
