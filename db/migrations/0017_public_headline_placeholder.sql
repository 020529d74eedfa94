-- /v1/headline (the dashboard's headline metrics) exists from the first migrate on and answers [] until
-- the first dbt build replaces it (dbt_analytics/models/api/headline.sql), as 0013 did for metrics/equity.
set local role milkbot_analytics;
create view api.headline as
select null::numeric as signals, null::numeric as orders, null::numeric as fills, null::numeric as contracts,
       null::numeric as fees, null::numeric as realised_pnl, null::numeric as marked_pnl, null::numeric as net_pnl,
       null::numeric as win_rate, null::numeric as brier, null::bigint as settled_markets
 where false;
comment on view api.headline is 'Public: headline metrics over the whole book (empty until the first dbt build replaces this view).';
grant select on api.headline to web_anon, milkbot_operator;
reset role;
