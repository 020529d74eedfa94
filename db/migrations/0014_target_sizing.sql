-- Sizing to a position target (issue 12): every book is kept per trading mode, live orders can be
-- decreased, signals explain the target, and a fill for a market we do not know is kept (not dropped).

-- Old signatures (no mode) are dropped with what binds to them; db/functions and db/views re-create them.
drop view if exists ops.v_exposure;
drop view if exists ops.v_pnl_today;
drop view if exists ops.v_positions;
drop view if exists ops.v_signals;
drop view if exists ops.v_orders;
drop function if exists ops.event_worst_case_loss(timestamptz, boolean);
drop function if exists ops.event_outcomes(timestamptz, boolean, boolean);
drop function if exists ops.equity_at(timestamptz);
drop function if exists ops.holdings_at(timestamptz, boolean, boolean);

-- Positions per mode: a paper position and a live one in the same market are different books.
alter table ops.positions add column mode ops.trading_mode;
update ops.positions set mode = coalesce((select f.mode from ops.fills f where f.ticker = positions.ticker
                                            group by f.mode order by count(*) desc limit 1), 'paper');
alter table ops.positions alter column mode set not null;
alter table ops.positions drop constraint positions_pkey;
alter table ops.positions add primary key (mode, ticker);
comment on column ops.positions.mode is 'The book this position belongs to (paper, demo or live never mix).';

-- A fill is the exchange's fact: it is recorded even when the market is unknown to us (then it raises a
-- risk event and counts in exposure at its worst case, see ops.unmapped_exposure).
alter table ops.fills drop constraint fills_ticker_fkey;
alter table ops.positions drop constraint positions_ticker_fkey;

-- Decreasing a live order: asked here by the cycle, confirmed by the executor. Until confirmed the order
-- counts at its full remaining size everywhere.
alter table ops.orders add column decrease_to numeric(14,2) check (decrease_to >= 0);
alter table ops.orders add column decrease_requested_at timestamptz;
comment on column ops.orders.decrease_to is 'Total contracts (filled + remaining) the cycle asked the order to be reduced to; null when none is pending.';
comment on column ops.orders.decrease_requested_at is 'Decision time of the cycle that asked for the decrease.';

-- Signals show why a size was chosen: the target, what is held and working, and the live order's fate.
alter table ops.signals add column target_contracts numeric(14,2) check (target_contracts >= 0);
alter table ops.signals add column held numeric(14,2);
alter table ops.signals add column working numeric(14,2);
alter table ops.signals add column equity numeric(14,4);
alter table ops.signals add column live_order_action text check (live_order_action in ('keep', 'decrease', 'cancel'));
comment on column ops.signals.target_contracts is 'Target position on the chosen side after Kelly of equity and every cap (0: hold nothing new).';
comment on column ops.signals.held is 'Net contracts held from fills (+ YES, - NO) in this mode.';
comment on column ops.signals.working is 'Net contracts of every non-final order at its full remaining size (+ YES, - NO).';
comment on column ops.signals.equity is 'Equity of this mode the Kelly fraction was applied to.';
comment on column ops.signals.live_order_action is 'What the cycle did with the market''s live order: keep, decrease or cancel (null: none).';

-- One live intent per market per book.
drop index ops.orders_one_live_per_market;
create unique index orders_one_live_per_market on ops.orders (mode, ticker)
    where superseded_by is null and cancel_requested_at is null
      and state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN');

alter table ops.risk_events drop constraint risk_events_kind_check;
alter table ops.risk_events add constraint risk_events_kind_check
    check (kind in ('daily_loss_breaker', 'error_rate_breaker', 'limit_capped', 'position_mismatch', 'stale_data',
                    'kill_switch', 'exchange_inactive', 'strategy_disabled', 'unknown_market_fill', 'order_resized', 'other'));

-- A fill for a market we do not know is recorded as the exchange reported it, and raised.
create function ops.flag_unknown_market_fill() returns trigger
language plpgsql security definer set search_path = pg_catalog, ops as $$
begin
    if not exists (select 1 from ops.markets m where m.ticker = new.ticker) then
        insert into ops.risk_events (at, kind, severity, detail, message)
        values (new.created_time, 'unknown_market_fill', 'critical',
                jsonb_build_object('fill_id', new.fill_id, 'ticker', new.ticker, 'side', new.side, 'count', new.count,
                                   'yes_price', new.yes_price, 'mode', new.mode),
                format('fill %s on unknown market %s: counted in exposure at its worst case', new.fill_id, new.ticker));
    end if;
    return null;
end
$$;
comment on function ops.flag_unknown_market_fill() is 'Trigger: a fill on a market not in ops.markets raises a critical risk event.';
create trigger flag_unknown_market after insert on ops.fills for each row execute function ops.flag_unknown_market_fill();

drop function if exists ops.report_exchange_positions(timestamptz, jsonb);
