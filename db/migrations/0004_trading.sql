-- Signals, orders (with their legal state machine), order events, the fill ledger and positions.

create type ops.strategy as enum ('DailyHigh', 'DailyLow', 'Monthly');
comment on type ops.strategy is 'Trading strategy that produced a signal.';

create table ops.signals (
    id            bigint generated always as identity primary key,
    as_of         timestamptz not null,
    ticker        text not null references ops.markets,
    strategy      ops.strategy not null,
    model_p       numeric(10,9) check (model_p between 0 and 1),
    yes_bid       numeric(6,4) check (yes_bid between 0 and 1),
    yes_ask       numeric(6,4) check (yes_ask between 0 and 1),
    side          text check (side in ('bid', 'ask')),
    price         numeric(6,4) check (price between 0 and 1),
    edge          numeric(10,6),
    gates         jsonb not null check (jsonb_typeof(gates) = 'object'),
    decision      text not null check (decision in ('trade', 'skip')),
    size          numeric(14,2) check (size > 0),
    reason        text not null,
    unique (as_of, ticker, strategy),
    check (decision = 'skip' or (side is not null and price is not null and size is not null))
);
create index signals_ticker_idx on ops.signals (ticker, as_of desc);
comment on table ops.signals is 'Every evaluation of every market in every cycle: model p, prices, each gate''s verdict, decision and size.';
comment on column ops.signals.id is 'Surrogate key.';
comment on column ops.signals.as_of is 'Decision time passed to ops.run_cycle.';
comment on column ops.signals.ticker is 'Market evaluated.';
comment on column ops.signals.strategy is 'Strategy that evaluated it.';
comment on column ops.signals.model_p is 'Model probability of YES.';
comment on column ops.signals.yes_bid is 'Best YES bid used.';
comment on column ops.signals.yes_ask is 'Best YES ask used.';
comment on column ops.signals.side is 'bid = buy YES, ask = sell YES (buy NO).';
comment on column ops.signals.price is 'YES-side limit price of the intended order.';
comment on column ops.signals.edge is 'Model p minus price minus fee, per contract, on the chosen side.';
comment on column ops.signals.gates is 'Each gate''s verdict: {"spread": {"pass": true, "reason": "..."}, ...}.';
comment on column ops.signals.decision is 'trade or skip.';
comment on column ops.signals.size is 'Contracts after sizing and every risk cap (trade only).';
comment on column ops.signals.reason is 'One-line reason for the decision.';

create type ops.order_state as enum ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'FILLED',
                                     'CANCEL_PENDING', 'CANCELED', 'REJECTED', 'UNKNOWN', 'EXPIRED');
comment on type ops.order_state is 'Order lifecycle; legal moves are listed in ops.order_transitions.';

create table ops.order_transitions (
    from_state ops.order_state not null,
    to_state   ops.order_state not null,
    note       text not null,
    primary key (from_state, to_state),
    check (from_state <> to_state)
);
comment on table ops.order_transitions is 'The legal order state machine; a trigger refuses any other move.';
comment on column ops.order_transitions.from_state is 'State before.';
comment on column ops.order_transitions.to_state is 'State after.';
comment on column ops.order_transitions.note is 'When this move happens.';

insert into ops.order_transitions (from_state, to_state, note) values
    ('PENDING',          'SUBMITTING',       'executor committed intent to send'),
    ('PENDING',          'CANCELED',         'superseded or kill switch before it was sent'),
    ('SUBMITTING',       'RESTING',          '201, nothing filled'),
    ('SUBMITTING',       'PARTIALLY_FILLED', '201, part filled'),
    ('SUBMITTING',       'FILLED',           '201, all filled'),
    ('SUBMITTING',       'REJECTED',         '4xx other than 409'),
    ('SUBMITTING',       'UNKNOWN',          '408/5xx/timeout/dropped connection'),
    ('SUBMITTING',       'CANCELED',         'reconciler: never reached the exchange'),
    ('UNKNOWN',          'RESTING',          'reconciler found it resting'),
    ('UNKNOWN',          'PARTIALLY_FILLED', 'reconciler found it part filled'),
    ('UNKNOWN',          'FILLED',           'reconciler found it filled'),
    ('UNKNOWN',          'CANCELED',         'reconciler found it canceled, or proved it absent'),
    ('UNKNOWN',          'EXPIRED',          'reconciler found it expired'),
    ('RESTING',          'PARTIALLY_FILLED', 'fill'),
    ('RESTING',          'FILLED',           'fill'),
    ('RESTING',          'CANCEL_PENDING',   'cancel sent'),
    ('RESTING',          'CANCELED',         'canceled at the exchange'),
    ('RESTING',          'EXPIRED',          'expired or market closed'),
    ('PARTIALLY_FILLED', 'FILLED',           'fill'),
    ('PARTIALLY_FILLED', 'CANCEL_PENDING',   'cancel sent'),
    ('PARTIALLY_FILLED', 'CANCELED',         'canceled at the exchange'),
    ('PARTIALLY_FILLED', 'EXPIRED',          'expired or market closed'),
    ('CANCEL_PENDING',   'CANCELED',         'cancel confirmed'),
    ('CANCEL_PENDING',   'FILLED',           'filled before the cancel landed'),
    ('CANCEL_PENDING',   'PARTIALLY_FILLED', 'fill raced the cancel'),
    ('CANCEL_PENDING',   'EXPIRED',          'expired before the cancel landed');

create type ops.trading_mode as enum ('paper', 'demo', 'live');
comment on type ops.trading_mode is 'paper: simulated fills, no credentials; demo: Kalshi demo host; live: production.';

create table ops.orders (
    id                bigint generated always as identity primary key,
    intent_key        text not null unique check (length(intent_key) between 8 and 200),
    client_order_id   text not null unique check (client_order_id ~ '^[A-Za-z0-9_-]{8,64}$'),
    ticker            text not null references ops.markets,
    strategy          ops.strategy not null,
    side              text not null check (side in ('bid', 'ask')),
    price             numeric(6,4) not null check (price > 0 and price < 1),
    count             numeric(14,2) not null check (count > 0),
    time_in_force     text not null default 'good_till_canceled' check (time_in_force in ('fill_or_kill', 'good_till_canceled', 'immediate_or_cancel')),
    state             ops.order_state not null default 'PENDING',
    mode              ops.trading_mode not null,
    host              text not null,
    exchange_order_id text unique,
    filled_count      numeric(14,2) not null default 0 check (filled_count >= 0),
    reduces_exposure  boolean not null default false,
    supersedes        bigint references ops.orders,
    superseded_by     bigint references ops.orders,
    signal_id         bigint references ops.signals,
    as_of             timestamptz not null,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    last_error        text check (length(last_error) <= 2000),
    check (filled_count <= count),
    check (supersedes is distinct from id)
);
create index orders_open_idx on ops.orders (ticker) where state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'CANCEL_PENDING', 'UNKNOWN');
create index orders_state_idx on ops.orders (state, updated_at);
comment on table ops.orders is 'Order intents and their exchange lifecycle (transactional outbox: a PENDING row and its pgmq message are written together).';
comment on column ops.orders.id is 'Surrogate key; the pgmq message carries it.';
comment on column ops.orders.intent_key is 'Deterministic key of the decision (market, side, price, size, cycle window): the same decision never makes a second order.';
comment on column ops.orders.client_order_id is 'Sent to Kalshi; derived from intent_key, so a retry is recognised (409) rather than duplicated.';
comment on column ops.orders.ticker is 'Market.';
comment on column ops.orders.strategy is 'Strategy that created it.';
comment on column ops.orders.side is 'bid = buy YES; ask = sell YES (buy NO).';
comment on column ops.orders.price is 'YES-side limit price in dollars, on the market grid.';
comment on column ops.orders.count is 'Contracts.';
comment on column ops.orders.time_in_force is 'Kalshi time_in_force.';
comment on column ops.orders.state is 'Lifecycle state; moves only along ops.order_transitions.';
comment on column ops.orders.mode is 'paper, demo or live, recorded on every order.';
comment on column ops.orders.host is 'Exchange host (or ''paper'') the order was meant for.';
comment on column ops.orders.exchange_order_id is 'Kalshi order_id once known.';
comment on column ops.orders.filled_count is 'Contracts filled so far.';
comment on column ops.orders.reduces_exposure is 'True when the order only reduces an existing position (allowed while REDUCING).';
comment on column ops.orders.supersedes is 'Order this cancel/replace intent replaces.';
comment on column ops.orders.superseded_by is 'Newer intent that replaced this one.';
comment on column ops.orders.signal_id is 'Signal that produced it.';
comment on column ops.orders.as_of is 'Decision time of the cycle that created it.';
comment on column ops.orders.created_at is 'Row creation time.';
comment on column ops.orders.updated_at is 'Last state change.';
comment on column ops.orders.last_error is 'Last exchange error code/message, bounded.';

create table ops.order_events (
    id          bigint generated always as identity primary key,
    order_id    bigint not null references ops.orders,
    at          timestamptz not null default clock_timestamp(),
    from_state  ops.order_state,
    to_state    ops.order_state not null,
    reason      text not null,
    exchange_excerpt text check (length(exchange_excerpt) <= 2000)
);
create index order_events_order_idx on ops.order_events (order_id, id);
comment on table ops.order_events is 'Append-only history of every order state change, with its reason and a bounded excerpt of the exchange reply.';
comment on column ops.order_events.id is 'Sequence.';
comment on column ops.order_events.order_id is 'Order.';
comment on column ops.order_events.at is 'When.';
comment on column ops.order_events.from_state is 'State before (null at creation).';
comment on column ops.order_events.to_state is 'State after.';
comment on column ops.order_events.reason is 'Why (set by the writer via the milkbot.transition_reason setting).';
comment on column ops.order_events.exchange_excerpt is 'Bounded excerpt of the exchange reply (milkbot.exchange_excerpt setting).';

-- Enforce the state machine and log every change in the same statement.
create function ops.order_state_guard() returns trigger
language plpgsql security definer set search_path = pg_catalog, ops as $$
begin
    if tg_op = 'INSERT' then
        if new.state <> 'PENDING' then
            raise exception 'orders are created PENDING, not %', new.state using errcode = 'check_violation';
        end if;
        insert into ops.order_events (order_id, from_state, to_state, reason)
        values (new.id, null, new.state, coalesce(nullif(current_setting('milkbot.transition_reason', true), ''), 'intent created'));
        return new;
    end if;
    if new.state is distinct from old.state then
        if not exists (select 1 from ops.order_transitions t where t.from_state = old.state and t.to_state = new.state) then
            raise exception 'illegal order transition % -> % (order %)', old.state, new.state, old.id
                using errcode = 'check_violation';
        end if;
        insert into ops.order_events (order_id, from_state, to_state, reason, exchange_excerpt)
        values (new.id, old.state, new.state,
                coalesce(nullif(current_setting('milkbot.transition_reason', true), ''), 'unspecified'),
                left(nullif(current_setting('milkbot.exchange_excerpt', true), ''), 2000));
        new.updated_at := clock_timestamp();
    end if;
    return new;
end
$$;
comment on function ops.order_state_guard() is 'Trigger: refuses moves not in ops.order_transitions and appends each change to ops.order_events.';
create trigger state_guard_insert after insert on ops.orders for each row execute function ops.order_state_guard();
create trigger state_guard_update before update of state on ops.orders for each row execute function ops.order_state_guard();

create table ops.fills (
    fill_id           text primary key check (length(fill_id) between 1 and 100),
    exchange_order_id text,
    order_id          bigint references ops.orders,
    ticker            text not null references ops.markets,
    side              text not null check (side in ('bid', 'ask')),
    yes_price         numeric(6,4) not null check (yes_price between 0 and 1),
    count             numeric(14,2) not null check (count > 0),
    is_taker          boolean not null,
    fee               numeric(12,4) not null default 0 check (fee >= 0),
    created_time      timestamptz not null,
    mode              ops.trading_mode not null,
    recorded_at       timestamptz not null default now()
);
create index fills_ticker_idx on ops.fills (ticker, created_time);
create index fills_created_idx on ops.fills (created_time);
comment on table ops.fills is 'Append-only fill ledger: one row per exchange fill (unique fill id), including out-of-band fills.';
comment on column ops.fills.fill_id is 'Kalshi fill_id/trade_id (paper: generated).';
comment on column ops.fills.exchange_order_id is 'Kalshi order_id of the filled order.';
comment on column ops.fills.order_id is 'Our order, when the fill matches one (null for out-of-band fills).';
comment on column ops.fills.ticker is 'Market.';
comment on column ops.fills.side is 'bid = bought YES; ask = sold YES (bought NO).';
comment on column ops.fills.yes_price is 'Execution price, YES side, dollars.';
comment on column ops.fills.count is 'Contracts filled.';
comment on column ops.fills.is_taker is 'True when we took liquidity.';
comment on column ops.fills.fee is 'Fee charged for this fill (dollars).';
comment on column ops.fills.created_time is 'Exchange time of the fill.';
comment on column ops.fills.mode is 'paper, demo or live.';
comment on column ops.fills.recorded_at is 'When Milkbot recorded it.';

create function ops.forbid_ledger_rewrite() returns trigger language plpgsql as $$
begin
    raise exception '% is append-only', tg_table_name using errcode = 'insufficient_privilege';
end
$$;
create trigger append_only before update or delete on ops.fills for each statement execute function ops.forbid_ledger_rewrite();
create trigger append_only before update or delete on ops.order_events for each statement execute function ops.forbid_ledger_rewrite();

create table ops.positions (
    ticker            text primary key references ops.markets,
    position          numeric(14,2) not null default 0,
    cost_basis        numeric(14,4) not null default 0,
    realized_pnl      numeric(14,4) not null default 0,
    fees_paid         numeric(14,4) not null default 0 check (fees_paid >= 0),
    exchange_position numeric(14,2),
    reconciled_at     timestamptz,
    updated_at        timestamptz not null default now()
);
comment on table ops.positions is 'Positions derived from the fill ledger (+ = YES contracts, - = NO), with the exchange''s view for reconciliation.';
comment on column ops.positions.ticker is 'Market.';
comment on column ops.positions.position is 'Net contracts from our fills: positive YES, negative NO.';
comment on column ops.positions.cost_basis is 'Dollars paid for the open position (YES: yes_price per contract; NO: 1 - yes_price).';
comment on column ops.positions.realized_pnl is 'Realised P&L in dollars (closing trades and settlement), before fees.';
comment on column ops.positions.fees_paid is 'Fees paid on this market (dollars).';
comment on column ops.positions.exchange_position is 'position_fp reported by GET /portfolio/positions at last reconcile.';
comment on column ops.positions.reconciled_at is 'When the exchange position was last compared.';
comment on column ops.positions.updated_at is 'Last change.';
