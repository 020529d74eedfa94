-- Paper fills only as the recorded market allows (issue 25 §4). The paper executor follows these two
-- functions; they are also the fill model of a priced replay.
--
--   * Taking (immediate-or-cancel, fill-or-kill, and the part of a resting order that crosses when it is
--     placed): against the recorded book at the moment the order arrives -- every level at or better than
--     the limit, each at its own price and for at most its size. A book that moved away before the order
--     arrived does not fill.
--   * Resting: the order joins the queue behind what was bid at its price when it was placed
--     (ops.paper_queue) and fills only as the recorded trade tape prints at or through its price, on the
--     side that hits it, after that volume has traded. A book that crosses it without a trade fills nothing
--     (the paper order is not in the real book: nobody traded with it).

-- The recorded book of one market at p_at, as bids per side: the tape's full depth where the newest quote
-- then came from the feed (ops.replay_book), else the newest REST top of book (one level per side). Only
-- quotes from p_since on count: an order is never filled against a book older than its decision.
create or replace function ops.paper_book(p_ticker text, p_at timestamptz, p_since timestamptz)
returns table (side text, price numeric, qty numeric, source text)
language sql stable
set search_path = pg_catalog, ops
begin atomic
    with q as (
        select s.source, s.yes_bid, s.yes_bid_size, s.yes_ask, s.yes_ask_size
          from ops.market_snapshots s
         where s.ticker = p_ticker and s.fetched_at <= p_at and s.fetched_at >= p_since
           and s.source <> 'candles'   -- a quote derived from trade candles (priced replay) is not a book
         order by s.fetched_at desc, s.id desc limit 1)
    -- a feed quote with neither side is an untrusted (or empty) book: nothing to fill against
    select b.side, b.price, b.qty, 'feed' from q cross join lateral ops.replay_book(p_ticker, p_at) b
     where q.source = 'feed' and (q.yes_bid is not null or q.yes_ask is not null)
    union all
    select 'yes', q.yes_bid, q.yes_bid_size, q.source from q
     where q.source <> 'feed' and q.yes_bid is not null and q.yes_bid_size > 0
    union all
    select 'no', 1 - q.yes_ask, q.yes_ask_size, q.source from q
     where q.source <> 'feed' and q.yes_ask is not null and q.yes_ask_size > 0;
end;
comment on function ops.paper_book(text, timestamptz, timestamptz) is 'Paper fills: one market''s recorded book at p_at (the feed''s depth, else the REST top), quotes from p_since on.';

-- An order arrives at the paper exchange at p_at. Takes what crosses (fill-or-kill: all or nothing);
-- immediate-or-cancel drops the rest; any other order rests, its queue position recorded. Returns what
-- the exchange would answer: the order id, contracts filled, contracts left resting.
create or replace function ops.paper_submit(p_client_order_id text, p_at timestamptz)
returns table (exchange_order_id text, filled numeric, remaining numeric)
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    o         ops.orders%rowtype;
    v_mult    numeric;
    v_avail   numeric;
    v_taken   numeric := 0;
    v_src     text;
    v_own     text;       -- the book side our order would rest on: YES bids for a bid, NO bids for an ask
    v_own_px  numeric;    -- its price on that side
    v_best    numeric;
    v_at_px   numeric;
    v_queue   numeric;
    v_note    text;
    v_book    jsonb;      -- the recorded book at arrival, read once
begin
    select * into o from ops.orders where client_order_id = p_client_order_id for update;
    if not found then
        raise exception 'paper order % does not exist', p_client_order_id using errcode = 'no_data_found';
    end if;
    if o.mode <> 'paper' then
        raise exception 'order % is a % order: the paper exchange takes paper orders only', o.id, o.mode;
    end if;
    select coalesce(m.fee_multiplier, 1) into v_mult from ops.markets m where m.ticker = o.ticker;
    v_mult := coalesce(v_mult, 1);
    v_own := case o.side when 'bid' then 'yes' else 'no' end;
    v_own_px := case o.side when 'bid' then o.price else 1 - o.price end;

    v_book := coalesce((select jsonb_agg(to_jsonb(b)) from ops.paper_book(o.ticker, p_at, o.as_of - interval '1 minute') b), '[]');
    select min(b.source) into v_src from jsonb_to_recordset(v_book) b(source text);

    -- the other side's bids at or better than our limit (in our side's terms, price 1 - theirs)
    select coalesce(sum(b.qty), 0) into v_avail from jsonb_to_recordset(v_book) b(side text, price numeric, qty numeric)
     where b.side <> v_own and 1 - b.price <= v_own_px;
    if o.time_in_force <> 'fill_or_kill' or v_avail >= o.count then
        with walk as (
            select 1 - b.price as px_own, b.qty,
                   coalesce(sum(b.qty) over (order by b.price desc rows between unbounded preceding and 1 preceding), 0) as before
              from jsonb_to_recordset(v_book) b(side text, price numeric, qty numeric)
             where b.side <> v_own and 1 - b.price <= v_own_px),
        took as (
            insert into ops.fills (fill_id, exchange_order_id, order_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
            select format('paper-%s-take-%s', o.id, w.px_own), 'paper-' || o.client_order_id, o.id, o.ticker, o.side,
                   case o.side when 'bid' then w.px_own else 1 - w.px_own end, least(w.qty, o.count - w.before), true,
                   ops.taker_fee(case o.side when 'bid' then w.px_own else 1 - w.px_own end, least(w.qty, o.count - w.before), v_mult),
                   p_at, 'paper'
              from walk w where w.before < o.count
            on conflict (fill_id) do nothing
            returning count)
        select coalesce(sum(t.count), 0) into v_taken from took t;
    end if;

    if o.time_in_force in ('immediate_or_cancel', 'fill_or_kill') or v_taken >= o.count then
        return query select 'paper-' || o.client_order_id, v_taken, 0::numeric;
        return;
    end if;

    -- the rest rests: behind whatever was bid at its price on its side
    select max(b.price) into v_best from jsonb_to_recordset(v_book) b(side text, price numeric, qty numeric) where b.side = v_own;
    select sum(b.qty) into v_at_px from jsonb_to_recordset(v_book) b(side text, price numeric, qty numeric) where b.side = v_own and b.price = v_own_px;
    if v_src is null then
        v_queue := null; v_src := 'none';
        v_note := 'no recorded book since the decision: the queue ahead is unknown, only trades through the price fill it';
    elsif v_src = 'feed' or v_best is null or v_own_px > v_best then
        v_queue := coalesce(v_at_px, 0);
        v_note := format('joined behind %s contracts at %s (%s book)', v_queue, v_own_px, v_src);
    elsif v_own_px = v_best then
        v_queue := v_at_px;
        v_note := format('joined behind %s contracts at the best bid %s (%s top of book)', v_queue, v_own_px, v_src);
    else
        v_queue := null;
        v_note := format('below the best bid %s of a top-of-book quote (%s): the queue ahead is unknown, only trades through %s fill it',
                         v_best, v_src, v_own_px);
    end if;
    insert into ops.paper_queue (order_id, placed_at, queue_ahead, book_source, note)
    values (o.id, p_at, v_queue, v_src, v_note)
    on conflict (order_id) do nothing;
    return query select 'paper-' || o.client_order_id, v_taken, o.count - v_taken;
end
$$;
comment on function ops.paper_submit(text, timestamptz) is 'Paper exchange: an order arrives at p_at. Takes what the recorded book offers at or better than its limit (price and size per level); the rest is cancelled (IOC/FOK) or rests behind the volume bid at its price (ops.paper_queue).';

-- Resting paper orders fill from the trade tape up to p_at. For an order bidding YES at p the trades that
-- hit it are takers selling YES (taker side 'no') at a YES price <= p; for one bidding NO (selling YES at
-- p) takers buying YES at >= p. Those trades since placement, in total, first consume the queue that was
-- ahead of it; the order is entitled to the rest, up to what it still has open. Where the queue is not
-- known only trades strictly through the price count (its whole level must have traded before them). A
-- trade without a taker side could have been either: it counts for nothing. Each fill is at the order's
-- own price, as a maker, dated by the trade that completed it; its id names that trade (idempotent).
create or replace function ops.paper_match(p_at timestamptz)
returns integer
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    n integer;
begin
    with open as (
        select o.id, o.client_order_id, o.ticker, o.side, o.price, o.count, q.placed_at, q.queue_ahead
          from ops.orders o join ops.paper_queue q on q.order_id = o.id
         -- a cancel the cycle asked for has not reached the exchange while the order still rests
         where o.mode = 'paper' and o.state in ('RESTING', 'PARTIALLY_FILLED')
           for update of o),
    due as (
        select o.*, f.filled, f.from_queue, t.at_or_through, t.through, t.last_id, t.last_time,
               coalesce(m.fee_type, 'quadratic') as fee_type, coalesce(m.fee_multiplier, 1) as mult
          from open o
          left join ops.markets m on m.ticker = o.ticker
          cross join lateral (
              select coalesce(sum(x.count), 0) as filled,
                     coalesce(sum(x.count) filter (where not x.is_taker), 0) as from_queue
                from ops.fills x where x.order_id = o.id) f
          cross join lateral (
              select coalesce(sum(tt.count), 0) as at_or_through,
                     coalesce(sum(tt.count) filter (where tt.yes_price <> o.price), 0) as through,
                     (array_agg(tt.trade_id order by tt.created_time desc, tt.trade_id desc))[1] as last_id,
                     max(tt.created_time) as last_time
                from ops.tape_trades tt
               where tt.ticker = o.ticker and tt.created_time > o.placed_at and tt.created_time <= p_at
                 and case o.side when 'bid' then tt.taker_side = 'no' and tt.yes_price <= o.price
                                 else tt.taker_side = 'yes' and tt.yes_price >= o.price end) t),
    sized as (
        select d.*, least(d.count - d.filled,
                          case when d.queue_ahead is null then d.through else d.at_or_through - d.queue_ahead end
                          - d.from_queue) as qty
          from due d),
    ins as (
        insert into ops.fills (fill_id, exchange_order_id, order_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
        select format('paper-%s-q-%s', s.id, s.last_id), 'paper-' || s.client_order_id, s.id, s.ticker, s.side, s.price, s.qty,
               false, ops.maker_fee(s.price, s.qty, s.fee_type, s.mult), s.last_time, 'paper'
          from sized s where s.qty > 0
        on conflict (fill_id) do nothing
        returning 1)
    select count(*) into n from ins;
    return n;
end
$$;
comment on function ops.paper_match(timestamptz) is 'Paper exchange: fill resting paper orders from the recorded trade tape up to p_at, behind the queue that was ahead of each when placed. Returns the fills written.';
