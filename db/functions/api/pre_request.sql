-- PostgREST db-pre-request: runs before every request. Refuses `Prefer: count=exact` (a forced full
-- COUNT over a view is a cheap way to load the database) with a 400. Written to fail closed: a missing
-- headers setting is treated as no Prefer header, never as an error that lets the check pass silently.
create or replace function api.pre_request()
returns void
language plpgsql stable as $$
declare
    prefer text := lower(coalesce(nullif(current_setting('request.headers', true), '')::json->>'prefer', ''));
begin
    if prefer ~ 'count\s*=\s*(exact|planned|estimated)' then
        raise sqlstate 'PGRST' using
            message = json_build_object('code', 'MB400', 'message', 'Prefer: count=… is not allowed on this API')::text,
            detail = json_build_object('status', 400, 'headers', json_build_object())::text;
    end if;
end
$$;
comment on function api.pre_request() is 'PostgREST pre-request hook: rejects Prefer: count=exact/planned/estimated with 400.';
