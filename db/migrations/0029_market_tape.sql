-- The market tape (issue 25 §1-§2): every order-book snapshot and delta and every public trade the
-- WebSocket feed receives, stored by day (Kalshi keeps no historical books: a day not recorded can never
-- be replayed); the current book per market, maintained in SQL from the tape; the feed's subscriptions
-- and their sequence numbers.

create table ops.tape_book (
    received_at     timestamptz not null,
    id              bigint generated always as identity,
    conn            text not null,
    sid             integer not null,
    seq             bigint not null,
    ticker          text not null,
    kind            text not null check (kind in ('snapshot', 'delta')),
    side            text check (side in ('yes', 'no')),
    price           numeric(6,4) check (price > 0 and price < 1),
    delta           numeric(14,2),
    levels          jsonb,
    exchange_ts     timestamptz,
    client_order_id text,
    applied         boolean not null,
    primary key (received_at, id),
    check ((kind = 'snapshot') = (levels is not null)),
    check (kind = 'snapshot' or (side is not null and price is not null and delta is not null))
) partition by range (received_at);
create index tape_book_ticker_idx on ops.tape_book (ticker, received_at);
comment on table ops.tape_book is 'Every order-book message of the WebSocket feed, as received (partitioned by UTC day of received_at): snapshots with their levels, signed deltas. Duplicates and out-of-order messages are not stored twice; a gap is recorded by the resnapshot that follows it.';
comment on column ops.tape_book.received_at is 'When Milkbot received it (partition key).';
comment on column ops.tape_book.id is 'Order of arrival.';
comment on column ops.tape_book.conn is 'The feed connection it came on (sid and seq are per connection).';
comment on column ops.tape_book.sid is 'Subscription id.';
comment on column ops.tape_book.seq is 'Sequence number within the subscription.';
comment on column ops.tape_book.ticker is 'Market.';
comment on column ops.tape_book.kind is 'snapshot or delta.';
comment on column ops.tape_book.side is 'Delta: yes or no (a NO bid at p is a YES ask at 1 - p).';
comment on column ops.tape_book.price is 'Delta: the price level, dollars.';
comment on column ops.tape_book.delta is 'Delta: signed change of the contracts at the level.';
comment on column ops.tape_book.levels is 'Snapshot: {"yes": [[price, count], ...], "no": [...]} as numbers.';
comment on column ops.tape_book.exchange_ts is 'The exchange''s timestamp of the change (ts_ms), if given.';
comment on column ops.tape_book.client_order_id is 'Delta caused by one of our orders: its client_order_id.';
comment on column ops.tape_book.applied is 'Whether it changed the book (false: a delta to a book not trusted, after a gap, waiting for its snapshot). A replay applies exactly these.';

create table ops.tape_trades (
    created_time  timestamptz not null,
    trade_id      text not null,
    ticker        text not null,
    yes_price     numeric(6,4) not null check (yes_price > 0 and yes_price < 1),
    count         numeric(14,2) not null check (count > 0),
    taker_side    text check (taker_side in ('yes', 'no')),
    received_at   timestamptz not null,
    primary key (created_time, trade_id)
) partition by range (created_time);
create index tape_trades_ticker_idx on ops.tape_trades (ticker, created_time);
comment on table ops.tape_trades is 'Every public trade of the markets Milkbot watches (WebSocket trade channel), once per trade_id; partitioned by UTC day of created_time.';
comment on column ops.tape_trades.created_time is 'When it traded (the exchange''s ts_ms; partition key).';
comment on column ops.tape_trades.trade_id is 'Exchange trade id.';
comment on column ops.tape_trades.ticker is 'Market.';
comment on column ops.tape_trades.yes_price is 'Price of YES, dollars.';
comment on column ops.tape_trades.count is 'Contracts.';
comment on column ops.tape_trades.taker_side is 'The outcome side the taker bought (yes/no).';
comment on column ops.tape_trades.received_at is 'When Milkbot received it.';

-- the current book per market, from the tape
create table ops.book_levels (
    ticker  text not null,
    side    text not null check (side in ('yes', 'no')),
    price   numeric(6,4) not null check (price > 0 and price < 1),
    qty     numeric(14,2) not null check (qty > 0),
    primary key (ticker, side, price)
);
comment on table ops.book_levels is 'The current order book per market (bids per side: YES bids and NO bids), as the feed''s snapshots and deltas leave it.';
comment on column ops.book_levels.ticker is 'Market.';
comment on column ops.book_levels.side is 'yes or no: bids to buy that side.';
comment on column ops.book_levels.price is 'Price level, dollars.';
comment on column ops.book_levels.qty is 'Contracts bid there.';

create table ops.feed_books (
    ticker       text primary key,
    conn         text not null,
    sid          integer not null,
    trusted      boolean not null,
    snapshot_at  timestamptz,
    updated_at   timestamptz not null,
    reason       text
);
comment on table ops.feed_books is 'Per market on the feed: the subscription it arrives on and whether its book is trusted (a snapshot seen and no gap since). An untrusted book is never traded on: its quote is written as absent until a snapshot repairs it.';
comment on column ops.feed_books.ticker is 'Market.';
comment on column ops.feed_books.conn is 'Connection.';
comment on column ops.feed_books.sid is 'Subscription.';
comment on column ops.feed_books.trusted is 'A snapshot seen and every message since in sequence.';
comment on column ops.feed_books.snapshot_at is 'When its last snapshot arrived.';
comment on column ops.feed_books.updated_at is 'Last change.';
comment on column ops.feed_books.reason is 'Why it is not trusted (gap, connection lost, crossed book).';

create table ops.feed_subscriptions (
    conn        text not null,
    sid         integer not null,
    channel     text not null,
    last_seq    bigint,
    updated_at  timestamptz not null,
    primary key (conn, sid)
);
comment on table ops.feed_subscriptions is 'The feed''s subscriptions per connection and the last sequence number applied.';
comment on column ops.feed_subscriptions.conn is 'Connection.';
comment on column ops.feed_subscriptions.sid is 'Subscription id (server-given).';
comment on column ops.feed_subscriptions.channel is 'Channel.';
comment on column ops.feed_subscriptions.last_seq is 'Last sequence number seen.';
comment on column ops.feed_subscriptions.updated_at is 'Last message.';

alter table ops.market_snapshots drop constraint market_snapshots_source_check,
    add constraint market_snapshots_source_check check (source in ('orderbook', 'market', 'paper', 'test', 'feed'));
comment on column ops.market_snapshots.source is 'orderbook (GET /markets/{t}/orderbook or batch), market (GET /markets), feed (the WebSocket book, written when its top changes), paper/test.';

insert into ops.strategy_params (strategy, name, value, min_value, max_value, description) values
    ('all', 'tape_retention_days', 0, 0, 100000, 'The market tape: keep this many days of book messages and trades (0 = keep everything).');
