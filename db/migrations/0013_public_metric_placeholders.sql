-- /v1/metrics and /v1/equity exist from the first migrate on and answer [] until the first dbt build,
-- which replaces these empty views with the real ones (dbt_analytics/models/api). They are created as
-- milkbot_analytics, the role dbt builds as, so dbt may replace them.
grant usage, create on schema api to milkbot_analytics;   -- also in db/grants (applied after migrations)
do $$
begin
    if not pg_has_role(current_user, 'milkbot_analytics', 'member') then
        execute format('grant milkbot_analytics to %I', current_user);   -- a managed server's CREATEROLE app user
    end if;
end
$$;
set local role milkbot_analytics;
create view api.metrics as
select null::text as scope, null::text as key, null::date as climate_date, null::numeric as signals, null::numeric as orders,
       null::numeric as fills, null::numeric as contracts, null::numeric as fees, null::numeric as realised_pnl,
       null::numeric as marked_pnl, null::numeric as net_pnl, null::numeric as hit_rate, null::numeric as brier
 where false;
comment on view api.metrics is 'Public: city and strategy metrics (empty until the first dbt build replaces this view).';
create view api.equity as
select null::timestamptz as at, null::numeric as equity, null::numeric as drawdown where false;
comment on view api.equity is 'Public: the equity curve (empty until the first dbt build replaces this view).';
grant select on api.metrics, api.equity to web_anon, milkbot_operator;
reset role;
