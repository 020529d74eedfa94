-- The market tape and the live book (issue 25 §1-§2), decided here: the feed worker hands over what the
-- WebSocket delivered, in order, and follows what this answers (which markets to resnapshot).

-- Daily partitions of the tape, created before they are written (a partition per UTC day keeps a day's
-- tape one table: exported, pruned or archived whole).
create or replace function ops.ensure_tape_partitions(p_from date, p_to date)
returns integer
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    d date;
    t text;
    n integer := 0;
begin
    for d in select g::date from generate_series(p_from, p_to, interval '1 day') g loop
        foreach t in array array['tape_book', 'tape_trades'] loop
            if to_regclass(format('ops.%I', t || '_' || to_char(d, 'YYYYMMDD'))) is null then
                perform pg_advisory_xact_lock(7220431003);   -- two writers never race to create one
                if to_regclass(format('ops.%I', t || '_' || to_char(d, 'YYYYMMDD'))) is null then
                    execute format('create table ops.%I partition of ops.%I for values from (%L) to (%L)',
                                   t || '_' || to_char(d, 'YYYYMMDD'), t,
                                   d::text || ' 00:00+00', (d + 1)::text || ' 00:00+00');
                    n := n + 1;
                end if;
            end if;
        end loop;
    end loop;
    return n;
end
$$;
comment on function ops.ensure_tape_partitions(date, date) is 'Create the tape''s daily partitions (tape_book, tape_trades) from p_from to p_to (UTC days) where missing; returns how many were created.';

-- Drop the tape's partitions older than the retention setting (tape_retention_days; 0 keeps everything).
create or replace function ops.prune_tape(p_as_of timestamptz)
returns integer
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    keep integer := (select value from ops.strategy_params where strategy = 'all' and name = 'tape_retention_days');
    r record;
    n integer := 0;
begin
    if coalesce(keep, 0) <= 0 then
        return 0;
    end if;
    for r in select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
              where i.inhparent in ('ops.tape_book'::regclass, 'ops.tape_trades'::regclass)
                and to_date(right(c.relname, 8), 'YYYYMMDD') < (p_as_of at time zone 'UTC')::date - keep loop
        execute format('drop table ops.%I', r.relname);
        n := n + 1;
    end loop;
    return n;
end
$$;
comment on function ops.prune_tape(timestamptz) is 'Drop tape partitions older than tape_retention_days before p_as_of (0: keep everything); returns how many.';

-- The markets the feed watches: every open market of an enabled city (the ones the cycle evaluates).
create or replace function ops.feed_markets(p_as_of timestamptz)
returns setof text
language sql stable
set search_path = pg_catalog, ops
begin atomic
    select m.ticker from ops.markets m join ops.cities c on c.code = m.city_code and c.enabled
     where m.status in ('initialized', 'active') and m.close_time > p_as_of
     order by m.ticker;
end;
comment on function ops.feed_markets(timestamptz) is 'Tickers the WebSocket feed subscribes to at p_as_of: open markets of enabled cities.';

-- Top of book of one market from ops.book_levels: best YES bid, and YES ask = 1 - best NO bid.
create or replace function ops.book_top(p_ticker text)
returns table (yes_bid numeric, yes_bid_size numeric, yes_ask numeric, yes_ask_size numeric)
language sql stable
set search_path = pg_catalog, ops
begin atomic
    select yb.price, yb.qty, 1 - nb.price, nb.qty
      from (select 1) one
      left join lateral (select l.price, l.qty from ops.book_levels l where l.ticker = p_ticker and l.side = 'yes'
                          order by l.price desc limit 1) yb on true
      left join lateral (select l.price, l.qty from ops.book_levels l where l.ticker = p_ticker and l.side = 'no'
                          order by l.price desc limit 1) nb on true;
end;
comment on function ops.book_top(text) is 'Best YES bid and ask (1 - best NO bid) with sizes from the live book.';

-- One batch of feed messages, in the order received. Order-book messages are checked against their
-- subscription's sequence: a duplicate or late one (seq already passed) is dropped; a gap makes every
-- market of the subscription untrusted until its next snapshot (the caller asks for one) and its deltas
-- are kept on the tape but not applied; a delta that would leave a level below zero also untrusts the
-- market. A market whose top of book changed gets a market_snapshots row (source
-- 'feed'; an untrusted book an absent quote, so nothing trades on it) and a NOTIFY milkbot_event with
-- its event. Trades are stored once per trade_id. Returns what it did and the markets to resnapshot.
-- (A loop: the sequence check is inherently in order; batches are small.)
create or replace function ops.record_feed(p_conn text, p_msgs jsonb, p_received_at timestamptz)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    m jsonb;
    v_type text;
    v_sid integer;
    v_seq bigint;
    v_last bigint;
    v_ticker text;
    v_side text;
    v_price numeric;
    v_delta numeric;
    v_qty numeric;
    v_ok boolean;
    v_resnap text[] := '{}';
    v_touched text[] := '{}';
    v_stored integer := 0;
    v_dups integer := 0;
    v_gaps integer := 0;
    v_trades integer := 0;
    v_other integer := 0;
    v_tops integer := 0;
    v_written text[];
    v_bad text[] := '{}';
    v_ts timestamptz;
    v_n integer;
begin
    if p_conn is null or p_received_at is null or jsonb_typeof(p_msgs) is distinct from 'array' then
        raise exception 'record_feed: a connection, a time and an array of messages' using errcode = 'invalid_parameter_value';
    end if;
    perform ops.ensure_tape_partitions((p_received_at at time zone 'UTC')::date, (p_received_at at time zone 'UTC')::date + 1);
    for m in select e from jsonb_array_elements(p_msgs) e loop
        v_type := null; v_sid := null; v_seq := null; v_ticker := null;
        begin   -- each message on its own: a malformed one is refused, the rest of the batch recorded
            v_type := m->>'type';
            if v_type in ('orderbook_snapshot', 'orderbook_delta') then
                v_sid := (m->>'sid')::integer;
                v_seq := (m->>'seq')::bigint;
                v_ticker := m->'msg'->>'market_ticker';
                if v_sid is null or v_seq is null or v_ticker is null then
                    raise exception 'record_feed: % without sid, seq or market_ticker: %', v_type, left(m::text, 200)
                        using errcode = 'invalid_parameter_value';
                end if;
                select fs.last_seq into v_last from ops.feed_subscriptions fs where fs.conn = p_conn and fs.sid = v_sid for update;
                if not found then
                    insert into ops.feed_subscriptions (conn, sid, channel, last_seq, updated_at)
                    values (p_conn, v_sid, 'orderbook_delta', null, p_received_at);
                    v_last := null;
                end if;
                if v_last is not null and v_seq <= v_last then
                    v_dups := v_dups + 1;                     -- a duplicate, or late after a gap already handled
                    continue;
                end if;
                if v_last is not null and v_seq > v_last + 1 then
                    v_gaps := v_gaps + 1;
                    with hit as (
                        update ops.feed_books fb set trusted = false, updated_at = p_received_at,
                                                     reason = format('gap on subscription %s: seq %s after %s', v_sid, v_seq, v_last)
                         where fb.conn = p_conn and fb.sid = v_sid
                        returning fb.ticker)
                    select v_resnap || coalesce(array_agg(h.ticker), '{}'), v_touched || coalesce(array_agg(h.ticker), '{}')
                      into v_resnap, v_touched from hit h;
                end if;
                update ops.feed_subscriptions set last_seq = v_seq, updated_at = p_received_at where conn = p_conn and sid = v_sid;

                if v_type = 'orderbook_snapshot' then
                    delete from ops.book_levels where ticker = v_ticker;
                    insert into ops.book_levels (ticker, side, price, qty)
                    select v_ticker, s.side, (l->>0)::numeric, sum((l->>1)::numeric)
                      from (values ('yes', m->'msg'->'yes_dollars_fp'), ('no', m->'msg'->'no_dollars_fp')) s(side, lv)
                     cross join lateral jsonb_array_elements(coalesce(s.lv, '[]')) l
                     where (l->>1)::numeric > 0
                     group by s.side, (l->>0)::numeric;
                    insert into ops.feed_books (ticker, conn, sid, trusted, snapshot_at, updated_at, reason)
                    values (v_ticker, p_conn, v_sid, true, p_received_at, p_received_at, null)
                    on conflict (ticker) do update set conn = excluded.conn, sid = excluded.sid, trusted = true,
                                                       snapshot_at = excluded.snapshot_at, updated_at = excluded.updated_at, reason = null;
                    insert into ops.tape_book (received_at, conn, sid, seq, ticker, kind, levels, applied)
                    values (p_received_at, p_conn, v_sid, v_seq, v_ticker, 'snapshot',
                            jsonb_build_object('yes', coalesce((select jsonb_agg(jsonb_build_array((l->>0)::numeric, (l->>1)::numeric))
                                                                  from jsonb_array_elements(m->'msg'->'yes_dollars_fp') l), '[]'),
                                               'no', coalesce((select jsonb_agg(jsonb_build_array((l->>0)::numeric, (l->>1)::numeric))
                                                                 from jsonb_array_elements(m->'msg'->'no_dollars_fp') l), '[]')),
                            true);
                    v_resnap := array_remove(v_resnap, v_ticker);
                    v_touched := v_touched || v_ticker;
                else
                    v_side := m->'msg'->>'side';
                    v_price := (m->'msg'->>'price_dollars')::numeric;
                    v_delta := (m->'msg'->>'delta_fp')::numeric;
                    if v_side not in ('yes', 'no') or v_price is null or v_price <= 0 or v_price >= 1 or v_delta is null then
                        raise exception 'record_feed: a delta with side %, price %, delta %', v_side, v_price, v_delta
                            using errcode = 'invalid_parameter_value';
                    end if;
                    v_ok := exists (select 1 from ops.feed_books fb
                                     where fb.ticker = v_ticker and fb.trusted and fb.conn = p_conn and fb.sid = v_sid);
                    if v_ok then
                        select l.qty into v_qty from ops.book_levels l where l.ticker = v_ticker and l.side = v_side and l.price = v_price;
                        v_qty := coalesce(v_qty, 0) + v_delta;
                        if v_qty > 0 then
                            insert into ops.book_levels (ticker, side, price, qty) values (v_ticker, v_side, v_price, v_qty)
                            on conflict (ticker, side, price) do update set qty = excluded.qty;
                        elsif v_qty = 0 then
                            delete from ops.book_levels where ticker = v_ticker and side = v_side and price = v_price;
                        else                                  -- less than nothing at a level: our book is wrong
                            update ops.feed_books set trusted = false, updated_at = p_received_at,
                                   reason = format('delta %s at %s %s leaves %s', v_delta, v_side, v_price, v_qty)
                             where ticker = v_ticker;
                            v_resnap := v_resnap || v_ticker;
                            v_ok := false;
                        end if;
                        v_touched := v_touched || v_ticker;
                    end if;
                    insert into ops.tape_book (received_at, conn, sid, seq, ticker, kind, side, price, delta, exchange_ts,
                                               client_order_id, applied)
                    values (p_received_at, p_conn, v_sid, v_seq, v_ticker, 'delta', v_side, v_price, v_delta,
                            to_timestamp(((m->'msg'->>'ts_ms')::numeric) / 1000), m->'msg'->>'client_order_id', v_ok);
                end if;
                v_stored := v_stored + 1;
            elsif v_type = 'trade' then
                v_ts := coalesce(to_timestamp(((m->'msg'->>'ts_ms')::numeric) / 1000), p_received_at);
                if abs(extract(epoch from v_ts - p_received_at)) > 2 * 86400 then
                    v_bad := v_bad || format('trade %s at %s, received %s', m->'msg'->>'trade_id', v_ts, p_received_at);
                    continue;                                 -- a clock that far off is not a trade time: not stored
                end if;
                perform ops.ensure_tape_partitions((v_ts at time zone 'UTC')::date, (v_ts at time zone 'UTC')::date);
                insert into ops.tape_trades (created_time, trade_id, ticker, yes_price, count, taker_side, received_at)
                values (v_ts, m->'msg'->>'trade_id',
                        m->'msg'->>'market_ticker', (m->'msg'->>'yes_price_dollars')::numeric, (m->'msg'->>'count_fp')::numeric,
                        coalesce(m->'msg'->>'taker_outcome_side', m->'msg'->>'taker_side'), p_received_at)
                on conflict do nothing;
                get diagnostics v_n = row_count;
                v_trades := v_trades + v_n;
                v_dups := v_dups + 1 - v_n;
            else
                v_other := v_other + 1;                       -- fills, orders, lifecycle: the executor's (issue 25 §5)
            end if;
        exception when data_exception or integrity_constraint_violation then
            -- refused with its reason; an order-book message's market is no longer known right: untrusted
            -- (no quote) and resnapshotted, its sequence number consumed so it is not also a gap
            v_bad := v_bad || format('%s %s: %s', coalesce(v_type, 'a message'), coalesce(v_ticker, ''), sqlerrm);
            if v_type in ('orderbook_snapshot', 'orderbook_delta') and v_ticker is not null then
                update ops.feed_books set trusted = false, updated_at = p_received_at, reason = left('a malformed message: ' || sqlerrm, 300)
                 where ticker = v_ticker;
                v_resnap := v_resnap || v_ticker;
                v_touched := v_touched || v_ticker;
                if v_sid is not null and v_seq is not null then
                    update ops.feed_subscriptions set last_seq = greatest(coalesce(last_seq, v_seq), v_seq), updated_at = p_received_at
                     where conn = p_conn and sid = v_sid;
                end if;
            end if;
        end;
    end loop;

    -- the top of every touched market, where it changed, as the cycle reads books (untrusted: no quote)
    -- (a crossed book -- YES bid at or above the YES ask -- is followed, delta by delta, but quoted as
    -- nothing until it uncrosses: the exchange would have matched it, so one side of it is not there)
    with tops as (
        select t.ticker, m.event_ticker,
               case when q.ok then bt.yes_bid end as yes_bid, case when q.ok then bt.yes_bid_size end as yes_bid_size,
               case when q.ok then bt.yes_ask end as yes_ask, case when q.ok then bt.yes_ask_size end as yes_ask_size
          from (select distinct unnest(v_touched) as ticker) t
          join ops.markets m on m.ticker = t.ticker            -- a market not yet discovered has no quote row
          join ops.feed_books fb on fb.ticker = t.ticker
          cross join lateral ops.book_top(t.ticker) bt
          cross join lateral (select fb.trusted and not coalesce(bt.yes_bid >= bt.yes_ask, false) as ok) q),
    changed as (
        select tp.* from tops tp
         where not exists (select 1 from (select s.yes_bid, s.yes_bid_size, s.yes_ask, s.yes_ask_size
                                            from ops.market_snapshots s where s.ticker = tp.ticker
                                           order by s.fetched_at desc limit 1) last
                            where (last.yes_bid, last.yes_bid_size, last.yes_ask, last.yes_ask_size)
                                  is not distinct from (tp.yes_bid, tp.yes_bid_size, tp.yes_ask, tp.yes_ask_size))),
    written as (
        insert into ops.market_snapshots (source, ticker, fetched_at, yes_bid, yes_bid_size, yes_ask, yes_ask_size, content_hash)
        select 'feed', c.ticker, p_received_at, c.yes_bid, c.yes_bid_size, c.yes_ask, c.yes_ask_size,
               encode(sha256(convert_to(concat_ws('|', c.ticker, c.yes_bid, c.yes_bid_size, c.yes_ask, c.yes_ask_size), 'UTF8')), 'hex')
          from changed c
        on conflict (source, ticker, fetched_at) do update
           set yes_bid = excluded.yes_bid, yes_bid_size = excluded.yes_bid_size, yes_ask = excluded.yes_ask,
               yes_ask_size = excluded.yes_ask_size, content_hash = excluded.content_hash
        returning ticker)
    select coalesce(array_agg(w.ticker), '{}') into v_written from written w;
    v_tops := cardinality(v_written);
    -- the reaction's trigger (issue 25 §3): one notification per event whose top moved (Postgres folds
    -- identical ones within a transaction)
    perform pg_notify('milkbot_event', e.event_ticker)
       from (select distinct mk.event_ticker from ops.markets mk where mk.ticker = any (v_written)) e;

    return jsonb_build_object('stored', v_stored, 'duplicates', v_dups, 'gaps', v_gaps, 'trades', v_trades,
                              'other', v_other, 'tops', v_tops, 'refused', to_jsonb(v_bad),
                              'resnapshot', to_jsonb(array(select distinct x from unnest(v_resnap) x order by 1)));
end
$$;
comment on function ops.record_feed(text, jsonb, timestamptz) is 'Apply one batch of WebSocket messages: tape, live book with sequence checks, top-of-book snapshots and NOTIFY milkbot_event; returns counts and the markets to resnapshot.';

-- The feed is alive and its trusted books are current: the newest quote row of each market (from the
-- feed or from REST) that shows what the live book shows is seen now, so a quiet market does not look
-- stale -- and a REST row the feed has not confirmed is left to age.
create or replace function ops.feed_alive(p_conn text, p_at timestamptz)
returns integer
language sql volatile security definer
set search_path = pg_catalog, ops
begin atomic
    with newest as (
        select distinct on (s.ticker) s.id, s.ticker, s.yes_bid, s.yes_bid_size, s.yes_ask, s.yes_ask_size
          from ops.market_snapshots s join ops.feed_books fb on fb.ticker = s.ticker and fb.conn = p_conn and fb.trusted
         order by s.ticker, s.fetched_at desc, s.id desc),
    seen as (
        update ops.market_snapshots s set last_seen_at = p_at
          from newest n cross join lateral ops.book_top(n.ticker) t
         where s.id = n.id and (s.last_seen_at is null or s.last_seen_at < p_at)
           and (n.yes_bid, n.yes_bid_size, n.yes_ask, n.yes_ask_size)
               is not distinct from (t.yes_bid, t.yes_bid_size, t.yes_ask, t.yes_ask_size)
        returning 1)
    select count(*)::int from seen;
end;
comment on function ops.feed_alive(text, timestamptz) is 'Mark each market''s newest quote row that the live feed book confirms (same top) as current at p_at.';

-- A connection ended: its books are no longer followed (untrusted until a snapshot on a new connection;
-- their last quote ages normally, and REST polling goes on).
create or replace function ops.feed_lost(p_conn text, p_at timestamptz, p_reason text)
returns integer
language sql volatile security definer
set search_path = pg_catalog, ops
begin atomic
    with lost as (
        update ops.feed_books set trusted = false, updated_at = p_at, reason = left('connection lost: ' || p_reason, 500)
         where conn = p_conn and trusted
        returning 1)
    select count(*)::int from lost;
end;
comment on function ops.feed_lost(text, timestamptz, text) is 'A feed connection ended: its books are untrusted until resnapshotted.';

-- The book of one market at p_at, replayed from the tape alone: its newest snapshot at or before p_at,
-- then the deltas applied after it. Equal to ops.book_levels when p_at is now (the tape is the record).
create or replace function ops.replay_book(p_ticker text, p_at timestamptz)
returns table (side text, price numeric, qty numeric)
language sql stable
set search_path = pg_catalog, ops
begin atomic
    with snap as (
        select t.received_at, t.id, t.levels from ops.tape_book t
         where t.ticker = p_ticker and t.kind = 'snapshot' and t.received_at <= p_at
         order by t.received_at desc, t.id desc limit 1),
    base as (
        select s.side, (l->>0)::numeric as price, (l->>1)::numeric as qty
          from snap cross join lateral (values ('yes'), ('no')) s(side)
         cross join lateral jsonb_array_elements(snap.levels->s.side) l),
    moves as (
        select t.side, t.price, t.delta as qty from ops.tape_book t, snap
         where t.ticker = p_ticker and t.kind = 'delta' and t.applied
           and (t.received_at, t.id) > (snap.received_at, snap.id) and t.received_at <= p_at)
    select x.side, x.price, sum(x.qty) from (select * from base union all select * from moves) x
     group by x.side, x.price having sum(x.qty) > 0
     order by 1, 2;
end;
comment on function ops.replay_book(text, timestamptz) is 'One market''s book at p_at from the tape alone (newest snapshot, then the applied deltas).';

-- A book read over REST (the poll that stays as fallback and cross-check). Compared with the market's
-- newest quote from any source: the same values only confirm it (last_seen_at), different ones are a
-- new row -- so a quote the feed wrote and REST no longer sees is replaced, never left standing. Where
-- the feed follows the market (trusted book), a REST top more than 2 cents away from it is a health
-- warning (one of the two is wrong, or the market moved between them). Returns whether a row was written.
create or replace function ops.record_rest_book(p_ticker text, p_source text, p_at timestamptz,
                                                p_yes_bid numeric, p_yes_bid_size numeric,
                                                p_yes_ask numeric, p_yes_ask_size numeric, p_hash text)
returns boolean
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    last record;
    feed record;
begin
    select s.id, s.yes_bid, s.yes_bid_size, s.yes_ask, s.yes_ask_size into last
      from ops.market_snapshots s where s.ticker = p_ticker order by s.fetched_at desc, s.id desc limit 1;
    select t.* into feed from ops.feed_books fb cross join lateral ops.book_top(fb.ticker) t
     where fb.ticker = p_ticker and fb.trusted;
    if found and (abs(coalesce(feed.yes_bid, -1) - coalesce(p_yes_bid, -1)) > 0.02
                  or abs(coalesce(feed.yes_ask, 2) - coalesce(p_yes_ask, 2)) > 0.02) then
        insert into ops.health_events (at, component, level, message)
        values (p_at, 'kalshi_ingest', 'warning',
                format('%s: REST book %s / %s, the feed''s %s / %s (more than 2 cents apart)', p_ticker,
                       coalesce(p_yes_bid::text, 'no bid'), coalesce(p_yes_ask::text, 'no ask'),
                       coalesce(feed.yes_bid::text, 'no bid'), coalesce(feed.yes_ask::text, 'no ask')));
    end if;
    if last.id is not null and (last.yes_bid, last.yes_bid_size, last.yes_ask, last.yes_ask_size)
                               is not distinct from (p_yes_bid, p_yes_bid_size, p_yes_ask, p_yes_ask_size) then
        update ops.market_snapshots set last_seen_at = p_at
         where id = last.id and (last_seen_at is null or last_seen_at < p_at);
        return false;
    end if;
    insert into ops.market_snapshots (source, ticker, fetched_at, yes_bid, yes_bid_size, yes_ask, yes_ask_size, content_hash)
    values (p_source, p_ticker, p_at, p_yes_bid, p_yes_bid_size, p_yes_ask, p_yes_ask_size, p_hash)
    on conflict (source, ticker, fetched_at) do nothing;
    return true;
end
$$;
comment on function ops.record_rest_book(text, text, timestamptz, numeric, numeric, numeric, numeric, text) is 'A REST-read top of book: confirms the newest quote (any source) when equal, else a new row; warns when it disagrees with the feed''s trusted book.';

-- The tape in the import formats of a priced replay (`milkbot tape export`):
-- 5-minute candles of trade prices, the columns of ../shared/data/prices/ (cents; buckets with trades only)
create or replace function ops.tape_candles(p_from timestamptz, p_to timestamptz, p_minutes integer default 5)
returns table (market_id text, ticker text, start timestamptz, open numeric, high numeric, low numeric, close numeric, count bigint)
language sql stable
set search_path = pg_catalog, ops
begin atomic
    select t.ticker, t.ticker, date_bin(make_interval(mins => p_minutes), t.created_time, timestamptz '2000-01-01 00:00Z'),
           (array_agg(t.yes_price * 100 order by t.created_time, t.trade_id))[1], max(t.yes_price * 100), min(t.yes_price * 100),
           (array_agg(t.yes_price * 100 order by t.created_time desc, t.trade_id desc))[1], count(*)
      from ops.tape_trades t
     where t.created_time >= p_from and t.created_time < p_to
     group by 2, 3
     order by 2, 3;
end;
comment on function ops.tape_candles(timestamptz, timestamptz, integer) is 'Trade candles from the tape (market_id,ticker,start,open,high,low,close,count; cents), the format of the recorded prices.';

-- every top of book the feed saw (one row per change: the quotes a replay fills against), and every trade
create or replace function ops.tape_quotes(p_from timestamptz, p_to timestamptz)
returns table (ticker text, at timestamptz, yes_bid numeric, yes_bid_size numeric, yes_ask numeric, yes_ask_size numeric)
language sql stable
set search_path = pg_catalog, ops
begin atomic
    select s.ticker, s.fetched_at, s.yes_bid, s.yes_bid_size, s.yes_ask, s.yes_ask_size
      from ops.market_snapshots s
     where s.source = 'feed' and s.fetched_at >= p_from and s.fetched_at < p_to
     order by s.ticker, s.fetched_at;
end;
comment on function ops.tape_quotes(timestamptz, timestamptz) is 'Every top-of-book change the feed recorded (ticker, at, bid, size, ask, size).';

create or replace function ops.tape_ticks(p_from timestamptz, p_to timestamptz)
returns table (trade_id text, ticker text, created_time timestamptz, yes_price numeric, count numeric, taker_side text)
language sql stable
set search_path = pg_catalog, ops
begin atomic
    select t.trade_id, t.ticker, t.created_time, t.yes_price, t.count, t.taker_side
      from ops.tape_trades t where t.created_time >= p_from and t.created_time < p_to
     order by t.ticker, t.created_time, t.trade_id;
end;
comment on function ops.tape_ticks(timestamptz, timestamptz) is 'Every public trade on the tape (price in dollars, contracts, the side the taker bought).';

-- The daily markets alive in the window, as Kalshi's listing (the columns of ../shared/data/prices'
-- markets file): the listing a priced replay reads beside the quotes and ticks. The subtitle is written
-- from the strikes the way Kalshi words them ("85° or above" is greater than 84), so it reads back into
-- the same strikes; last_price is not kept (after the fact anyway).
create or replace function ops.tape_markets(p_from timestamptz, p_to timestamptz)
returns table (event_ticker text, event_title text, market_ticker text, subtitle text, status text, result text,
               last_price numeric, volume numeric, close_time timestamptz, category text)
language sql stable
set search_path = pg_catalog, ops
begin atomic
    select m.event_ticker,
           format('%s temperature in %s on %s?', case m.kind when 'high' then 'Highest' else 'Lowest' end, m.city_code,
                  to_char(m.climate_date, 'Mon FMDD, YYYY')),
           m.ticker,
           case m.strike_type when 'greater' then (m.floor_strike + 1)::int || '° or above'
                              when 'less' then (m.cap_strike - 1)::int || '° or below'
                              else m.floor_strike::int || '° to ' || m.cap_strike::int || '°' end,
           m.status, m.result, null::numeric, m.volume, m.close_time, 'Climate and Weather'
      from ops.markets m
     where m.kind in ('high', 'low') and m.strike_type in ('greater', 'less', 'between')
       and m.open_time < p_to and m.close_time >= p_from
     order by m.event_ticker, m.ticker;
end;
comment on function ops.tape_markets(timestamptz, timestamptz) is 'The daily markets alive in the window as Kalshi''s listing (event, title, ticker, subtitle from the strikes, status, result, volume, close time): what a priced replay reads beside the tape.';
