-- The priced replay (issue 24 §5): `milkbot backtest --prices DIR` runs the live cycle over recorded
-- prices in a scratch database. What it imports and nothing else lives here; the live system leaves these
-- tables empty.
--
-- Recorded trade candles (Kalshi's 5-minute candlesticks: the trades of each bucket, no book). A candle is
-- not a book: the cycle prices on a quote derived from it (source 'candles' below), but the paper exchange
-- never fills against such a quote -- only a later candle that traded at or through an order's price fills
-- it (ops.paper_match_candles).
create table ops.recorded_candles (
    ticker  text not null references ops.markets,
    start   timestamptz not null,
    minutes integer not null default 5 check (minutes between 1 and 1440),
    open    numeric(6,4) not null check (open > 0 and open < 1),
    high    numeric(6,4) not null check (high > 0 and high < 1),
    low     numeric(6,4) not null check (low > 0 and low < 1),
    close   numeric(6,4) not null check (close > 0 and close < 1),
    count   numeric(14,2) not null check (count > 0),
    primary key (ticker, start),
    check (low <= least(open, close) and high >= greatest(open, close))
);
comment on table ops.recorded_candles is 'Priced replay only: recorded trade candles (price in dollars; the recorded files are in cents). Empty in a live database.';
comment on column ops.recorded_candles.ticker is 'Market.';
comment on column ops.recorded_candles.start is 'Start of the bucket; its trades are known at start + minutes.';
comment on column ops.recorded_candles.minutes is 'Length of the bucket (5 in the recorded files).';
comment on column ops.recorded_candles.open is 'First trade price in the bucket, dollars.';
comment on column ops.recorded_candles.high is 'Highest trade price in the bucket, dollars.';
comment on column ops.recorded_candles.low is 'Lowest trade price in the bucket, dollars.';
comment on column ops.recorded_candles.close is 'Last trade price in the bucket, dollars.';
comment on column ops.recorded_candles.count is 'The recorded count of the bucket: trades, not contracts (the recorded NYC brackets traded thousands of contracts in buckets of 1-12); a candle fill takes at most this many contracts.';

-- The outcome of each recorded market and when it became known: the replay settles a market only once
-- its replay clock has passed known_at (an outcome is never seen before it existed).
create table ops.recorded_results (
    ticker   text primary key references ops.markets,
    result   text not null check (result in ('yes', 'no')),
    known_at timestamptz not null
);
comment on table ops.recorded_results is 'Priced replay only: each recorded market''s outcome and when the replay may know it. Empty in a live database.';
comment on column ops.recorded_results.ticker is 'Market.';
comment on column ops.recorded_results.result is 'The recorded outcome: yes or no.';
comment on column ops.recorded_results.known_at is 'When the replay may know it: the next morning''s final climate report, never before the market closed.';

alter table ops.market_snapshots drop constraint market_snapshots_source_check,
    add constraint market_snapshots_source_check check (source in ('orderbook', 'market', 'paper', 'test', 'feed', 'candles'));
comment on column ops.market_snapshots.source is 'orderbook (GET /markets/{t}/orderbook or batch), market (GET /markets), feed (WebSocket), paper/test; candles: a priced replay''s quote derived from trade candles (never a book the paper exchange fills against).';
