-- Exactly once against a hostile exchange (issue 13): an outcome is unknown until proven, absence is
-- presumed only after several reads over a grace period, orders found later are adopted, and taking
-- orders are immediate-or-cancel.

-- milkbot:enum-value ops.order_state ABSENT_PRESUMED
alter type ops.order_state add value if not exists 'ABSENT_PRESUMED';
comment on type ops.order_state is 'Order lifecycle; legal moves are listed in ops.order_transitions. ABSENT_PRESUMED: an unknown outcome not found at the exchange in several reads over the grace period (adopted if it ever appears).';

update ops.order_transitions set note = 'IOC: nothing filled, the exchange cancelled it'
 where from_state = 'SUBMITTING' and to_state = 'CANCELED';
update ops.order_transitions set note = 'reconciler found it canceled at the exchange'
 where from_state = 'UNKNOWN' and to_state = 'CANCELED';
insert into ops.order_transitions (from_state, to_state, note) values
    ('UNKNOWN',         'ABSENT_PRESUMED',  'not listed in several reads spread over the grace period'),
    ('ABSENT_PRESUMED', 'RESTING',          'appeared at the exchange after all: adopted'),
    ('ABSENT_PRESUMED', 'PARTIALLY_FILLED', 'appeared at the exchange after all, part filled: adopted'),
    ('ABSENT_PRESUMED', 'FILLED',           'appeared at the exchange after all, filled: adopted'),
    ('ABSENT_PRESUMED', 'CANCELED',         'appeared at the exchange after all, canceled: adopted'),
    ('ABSENT_PRESUMED', 'EXPIRED',          'appeared at the exchange after all, expired: adopted'),
    ('CANCEL_PENDING',  'RESTING',          'the cancel was refused and the order still rests');

alter table ops.orders add column outcome_unknown_since timestamptz;
alter table ops.orders add column absent_reads integer not null default 0 check (absent_reads >= 0);
alter table ops.orders add column last_absent_at timestamptz;
alter table ops.orders add column cancel_on_pause boolean not null default true;
alter table ops.orders alter column time_in_force set default 'immediate_or_cancel';
comment on column ops.orders.outcome_unknown_since is 'When the outcome of sending it became unknown (executor clock): the grace period runs from here.';
comment on column ops.orders.absent_reads is 'Exchange listings read since then that did not show it.';
comment on column ops.orders.last_absent_at is 'Time of the last such read.';
comment on column ops.orders.cancel_on_pause is 'Sent as cancel_order_on_pause: the exchange pulls the order when trading pauses.';

insert into ops.strategy_params (strategy, name, value, min_value, max_value, description) values
    ('all', 'unknown_grace_s',    120, 1, 3600, 'Executor: an unknown outcome is presumed absent only after this many seconds of not being listed (several times the HTTP timeout).'),
    ('all', 'unknown_min_reads',    3, 2,   50, 'Executor: and only after at least this many exchange listings without it.'),
    ('all', 'stale_submitting_s',  60, 1, 3600, 'Executor: a SUBMITTING order older than this was interrupted mid-send (its outcome is unknown).'),
    ('all', 'resting_orders',       0, 0,    1, 'Time in force of new orders: 0 = immediate-or-cancel (take what is there), 1 = good-till-canceled (rest as maker).');

alter table ops.risk_events drop constraint risk_events_kind_check;
alter table ops.risk_events add constraint risk_events_kind_check
    check (kind in ('daily_loss_breaker', 'error_rate_breaker', 'limit_capped', 'position_mismatch', 'stale_data',
                    'kill_switch', 'exchange_inactive', 'strategy_disabled', 'unknown_market_fill', 'order_resized',
                    'order_adopted', 'foreign_order', 'absent_presumed', 'order_mismatch', 'other'));
