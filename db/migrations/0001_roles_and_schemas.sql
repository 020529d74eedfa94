-- Roles (cluster-wide, so created only if missing) and the four schemas.
-- Least privilege: every app role gets exactly what db/grants/*.sql grants, nothing by default.

do $$
declare
    r record;
begin
    for r in select * from (values
        ('milkbot_ingest',    true,  'Ingest worker: writes weather/market snapshots and market metadata; no order rights.'),
        ('milkbot_executor',  true,  'Executor: reads queued intents, writes order/fill/position state.'),
        ('milkbot_analytics', true,  'dbt: reads ops, owns the analytics schema objects it builds.'),
        ('milkbot_operator',  true,  'Human operator: reads everything, edits limits, parameters and trading state.'),
        ('milkbot_cycle',     false, 'Owner of the trading-cycle functions (SECURITY DEFINER target); never logs in.'),
        ('web_anon',          false, 'PostgREST anonymous role: USAGE on api and SELECT on its views only.'),
        ('milkbot_authenticator', true, 'PostgREST login role; switches to web_anon, nothing of its own.')
    ) as t(name, login, note)
    loop
        if not exists (select 1 from pg_roles where rolname = r.name) then
            execute format('create role %I %s nosuperuser nocreatedb nocreaterole noreplication',
                           r.name, case when r.login then 'login' else 'nologin' end);
        end if;
        execute format('comment on role %I is %L', r.name, r.note);
    end loop;
end
$$;

alter role milkbot_authenticator noinherit;
grant web_anon to milkbot_authenticator;
-- Bound every anonymous query (PostgREST applies impersonated-role settings per request).
alter role web_anon set statement_timeout = '2s';

-- Functions are executable by PUBLIC by default; nothing Milkbot creates should be.
alter default privileges revoke execute on functions from public;
revoke create on schema public from public;

create schema if not exists ops;
comment on schema ops is 'Operational data: cities, markets, snapshots, signals, orders, fills, positions, risk and health. Private.';
create schema if not exists analytics;
comment on schema analytics is 'Rollups built by dbt (dbt_analytics/) plus the delayed public views. Private.';
create schema if not exists api;
comment on schema api is 'The only schema PostgREST exposes: small, flat, read-only views for the public dashboard.';
