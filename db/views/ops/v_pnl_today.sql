create or replace view ops.v_pnl_today as
select md.mode, ops.trading_day_start((select k.now from analytics.clock k)) as day_start,
       ops.equity_at(ops.trading_day_start((select k.now from analytics.clock k)), md.mode) as equity_at_start,
       ops.equity_at((select k.now from analytics.clock k), md.mode) as equity_now,
       ops.equity_at((select k.now from analytics.clock k), md.mode) - ops.equity_at(ops.trading_day_start((select k.now from analytics.clock k)), md.mode) as pnl_today,
       (select value from ops.risk_limits where name = 'daily_loss_limit') as daily_loss_limit
  from unnest(enum_range(null::ops.trading_mode)) md (mode);
comment on view ops.v_pnl_today is 'Operator view: realised + marked P&L per mode since midnight US Eastern, against the daily loss limit.';

create or replace view ops.v_risk_events as
select at, kind, severity, city_code, ticker, message, detail from ops.risk_events order by at desc;
comment on view ops.v_risk_events is 'Operator view: risk events, newest first.';

create or replace view ops.v_trading_state as
select t.state, t.reason, t.changed_at, t.changed_by,
       (select count(*) from ops.orders o where o.state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN', 'CANCEL_PENDING')) as live_orders,
       (select max(a.at) from ops.control_audit a where a.table_name = 'trading_state') as last_audited_change
  from ops.trading_state t;
comment on view ops.v_trading_state is 'Operator view: the kill-switch state, why and by whom, and how many orders are live.';

-- The model's Brier score per city over settled markets: the last probability we computed before close
-- against the 0/1 outcome.
create or replace view ops.v_model_brier as
select m.city_code, m.kind, count(*) as markets,
       round(avg(power(s.model_p - case m.result when 'yes' then 1 else 0 end, 2)), 6) as brier
  from ops.markets m
  join lateral (select sg.model_p from ops.signals sg
                 where sg.ticker = m.ticker and sg.model_p is not null and sg.as_of < m.close_time
                 order by sg.as_of desc limit 1) s on true
 where m.result in ('yes', 'no')
 group by m.city_code, m.kind;
comment on view ops.v_model_brier is 'Model Brier score per city and kind over settled markets (last pre-close probability vs outcome).';
