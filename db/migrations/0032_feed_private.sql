-- The executor on the feed (issue 25 §5): the WebSocket's fill and user_order messages are a fast path
-- into the ledger and the orders; GET /portfolio/fills stays the truth that reconciles. Its pull starts
-- from the newest fill *REST* has returned (not the newest in the ledger: a fill the feed recorded first
-- must not move REST's start past fills REST has not yet seen).

create table ops.fill_cursor (
    mode         ops.trading_mode primary key,
    rest_newest  timestamptz not null,
    updated_at   timestamptz not null
);
comment on table ops.fill_cursor is 'Per trading mode: the newest fill time GET /portfolio/fills has returned (the next pull starts there, less fills_lookback_s).';
comment on column ops.fill_cursor.mode is 'Trading mode (demo or live).';
comment on column ops.fill_cursor.rest_newest is 'Newest created_time among the fills REST has returned.';
comment on column ops.fill_cursor.updated_at is 'Last REST read that moved it.';

insert into ops.fill_cursor (mode, rest_newest, updated_at)
select f.mode, max(f.created_time), now() from ops.fills f where f.mode <> 'paper' group by f.mode;
