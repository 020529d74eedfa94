-- Public requests must not grow the server log: errors in PostgREST's sessions (every public request
-- runs in one, logged in as milkbot_authenticator) are not logged, nor their statements. These are
-- superuser-only settings; on a managed server without a superuser the operator sets them once
-- (README, "Managed Postgres") and this migration says so instead of failing.
do $$
begin
    if (select rolsuper from pg_roles where rolname = current_user) then
        alter role milkbot_authenticator set log_min_messages = 'fatal';
        alter role milkbot_authenticator set log_min_error_statement = 'panic';
    else
        raise notice 'not a superuser: run once as one: alter role milkbot_authenticator set log_min_messages = ''fatal''; alter role milkbot_authenticator set log_min_error_statement = ''panic'';';
    end if;
end
$$;
