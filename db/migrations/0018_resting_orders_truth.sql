-- Resting orders in motion (issue 29): the exchange's listing is the truth for an order's count, filled
-- and remaining, whatever we recorded before; a decrease is a target total sent as "reduce by", so a fill
-- racing it can never leave more than the target; adoption never fails; the kill switch reaches every
-- order of ours that may rest, even when the listing cannot be read.

-- The listing may correct any recorded state: an order it lists as resting is live again (our record was
-- wrong: an understated count, a cancel we believed), and one it lists as executed or canceled is final
-- in the way it says.
insert into ops.order_transitions (from_state, to_state, note) values
    ('FILLED',   'RESTING',          'the exchange lists it resting: our record was wrong, it is live'),
    ('FILLED',   'PARTIALLY_FILLED', 'the exchange lists it resting, part filled: our count was understated, it is live'),
    ('FILLED',   'CANCELED',         'the exchange lists it canceled: not all of it filled'),
    ('CANCELED', 'RESTING',          'the exchange lists it resting: the cancel we believed did not happen'),
    ('CANCELED', 'PARTIALLY_FILLED', 'the exchange lists it resting, part filled: the cancel we believed did not happen'),
    ('CANCELED', 'FILLED',           'the exchange lists it executed: it filled before the cancel'),
    ('EXPIRED',  'RESTING',          'the exchange lists it resting'),
    ('EXPIRED',  'PARTIALLY_FILLED', 'the exchange lists it resting, part filled'),
    ('EXPIRED',  'FILLED',           'the exchange lists it executed'),
    ('EXPIRED',  'CANCELED',         'the exchange lists it canceled'),
    ('REJECTED', 'RESTING',          'the exchange lists it resting after all: adopted'),
    ('REJECTED', 'PARTIALLY_FILLED', 'the exchange lists it resting after all, part filled: adopted'),
    ('REJECTED', 'FILLED',           'the exchange lists it executed after all: adopted'),
    ('REJECTED', 'CANCELED',         'the exchange lists it canceled after all: adopted')
on conflict do nothing;

-- What the exchange last said of each order, and when we last saw it listed.
alter table ops.orders add column exchange_status text check (exchange_status in ('resting', 'executed', 'canceled'));
alter table ops.orders add column decrease_sent_at timestamptz;
alter table ops.orders add column decrease_awaits_listing boolean not null default false;
comment on column ops.orders.exchange_status is 'The order''s status as the exchange last reported it (listing, or the reply to our own request): resting / executed / canceled; null until it says.';
comment on column ops.orders.decrease_sent_at is 'Executor time the pending decrease was last sent.';
comment on column ops.orders.decrease_awaits_listing is 'True from sending a decrease until a listing has shown the order again: a decrease is re-sent only after that (a lost reply may have applied it).';
comment on column ops.orders.decrease_to is 'Target total (filled + remaining) the cycle asked this order to be cut to; sent as reduce_by = count - decrease_to, so fills racing the request cannot leave more than it. Null when none is pending.';

update ops.orders set exchange_status = case state when 'FILLED' then 'executed' when 'CANCELED' then 'canceled'
                                                   when 'RESTING' then 'resting' when 'PARTIALLY_FILLED' then 'resting' end
 where host <> 'paper' and exchange_order_id is not null;

insert into ops.strategy_params (strategy, name, value, min_value, max_value, description) values
    ('all', 'fills_lookback_s', 3600, 0, 86400, 'Executor: fills are pulled from the newest recorded fill less this many seconds (late-reported fills are caught; the fill id keeps the overlap from counting twice).')
on conflict do nothing;

alter table ops.risk_events drop constraint risk_events_kind_check;
alter table ops.risk_events add constraint risk_events_kind_check
    check (kind in ('daily_loss_breaker', 'error_rate_breaker', 'limit_capped', 'position_mismatch', 'stale_data',
                    'kill_switch', 'exchange_inactive', 'strategy_disabled', 'unknown_market_fill', 'order_resized',
                    'order_adopted', 'foreign_order', 'absent_presumed', 'order_mismatch',
                    'settlement_disagreement', 'settlement_rules_changed', 'surplus_order', 'other'));

-- The kill switch's time is the time it was thrown (issue 23 §1.9): an UPDATE that changes the state
-- without saying when or by whom gets the transaction's time and the login; the cycle's breakers, which
-- pass their decision time, keep it.
create function ops.stamp_trading_state() returns trigger
language plpgsql set search_path = pg_catalog, ops as $$
begin
    if new.state is distinct from old.state then
        if new.changed_at is not distinct from old.changed_at then
            new.changed_at := now();
        end if;
        if new.changed_by is not distinct from old.changed_by then
            new.changed_by := session_user;
        end if;
    end if;
    return new;
end
$$;
comment on function ops.stamp_trading_state() is 'Trigger: a state change that does not set changed_at/changed_by gets now() and the login user.';
create trigger stamp before update on ops.trading_state for each row execute function ops.stamp_trading_state();

-- Signatures that changed (re-created by db/functions): the positions report takes the markets in flight,
-- a POST's answer is recorded by its HTTP status (SQL classifies it), a decrease by what it removed.
drop function if exists ops.report_exchange_positions(timestamptz, ops.trading_mode, jsonb);
drop function if exists ops.record_submit(bigint, text, text, numeric, numeric, text, text, timestamptz);
drop function if exists ops.record_decrease(bigint, numeric, text);
drop function if exists ops.decreases_to_send(ops.trading_mode);
