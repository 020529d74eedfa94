-- The priced replay (issue 24 §5, `milkbot backtest --prices DIR`): the recorded world advanced to each
-- decision time, the paper fill rule for trade candles, and the rows the report is made of. The decisions
-- themselves are the live ones: ops.run_cycle at each decision time, the executor and the paper exchange
-- (db/functions/ops/paper.sql) unchanged.

-- Quotes the cycle can price on, from trade candles: at the end of each bucket (when its trades are
-- known), the last trade price less / plus p_half_spread (the recorded files have no book: the spread is
-- a stated assumption; kept on the cent grid inside (0, 1)), the bucket's count of trades as the size. Source 'candles': the paper exchange never
-- fills against them (ops.paper_book). Returns the quotes written.
create or replace function ops.candle_quotes(p_half_spread numeric)
returns integer
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    n integer;
begin
    if p_half_spread is null or p_half_spread <= 0 or p_half_spread >= 0.5 then
        raise exception 'half spread % is not in (0, 0.5) dollars', p_half_spread using errcode = 'invalid_parameter_value';
    end if;
    insert into ops.market_snapshots (source, ticker, fetched_at, yes_bid, yes_bid_size, yes_ask, yes_ask_size, content_hash)
    select 'candles', c.ticker, c.start + make_interval(mins => c.minutes), q.bid, c.count, greatest(q.ask, q.bid + 0.01), c.count,
           encode(sha256(convert_to(format('candle|%s|%s|%s', c.ticker, c.start, c.close), 'UTF8')), 'hex')
      from ops.recorded_candles c
      -- on the cent grid inside (0, 1): a last trade at 1 cent quotes 1 / 2 cents, at 99 cents 98 / 99
     cross join lateral (select least(greatest(c.close - p_half_spread, 0.01), 0.98) as bid,
                                least(c.close + p_half_spread, 0.99) as ask) q
    on conflict (source, ticker, fetched_at) do nothing;
    get diagnostics n = row_count;
    return n;
end
$$;
comment on function ops.candle_quotes(numeric) is 'Priced replay: a quote per recorded candle at its end (last trade -/+ the half spread, the bucket''s count of trades as size), source candles. Returns rows written.';

-- The recorded world as ingest would have seen it at p_at, before the cycle decides there:
--   * a market whose outcome is known by then settles (finalized, result, expiration value and time);
--   * each active market's volume and open interest are the contracts traded up to then (the recorded
--     files carry no open interest: the traded volume stands for it);
--   * a forecast still current at p_at (the newest issue for its day and kind) is confirmed at p_at, as a
--     re-fetch returning the same forecast confirms it live (last_seen_at): a forecast is current until
--     the next one is issued;
--   * the exchange reports itself open.
-- Reads nothing after p_at. Returns what it did.
create or replace function ops.replay_world_at(p_at timestamptz)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    v_settled   integer;
    v_volumes   integer;
    v_confirmed integer;
begin
    update ops.markets m
       set status = 'finalized', result = r.result, expiration_time = r.known_at,
           expiration_value = r.result, expiration_value_at = r.known_at, updated_at = p_at
      from ops.recorded_results r
     where r.ticker = m.ticker and r.known_at <= p_at and m.status <> 'finalized';
    get diagnostics v_settled = row_count;

    update ops.markets m
       set volume = v.traded, open_interest = v.traded, updated_at = p_at
      from (select c.ticker, sum(c.count) as traded from ops.recorded_candles c
             where c.start + make_interval(mins => c.minutes) <= p_at group by c.ticker) v
     where v.ticker = m.ticker and m.status = 'active' and m.volume is distinct from v.traded;
    get diagnostics v_volumes = row_count;

    update ops.weather_snapshots w
       set last_seen_at = p_at
     where w.id in (select distinct on (f.city_code, f.climate_date, f.kind, f.source) f.snapshot_id
                      from ops.forecasts f
                     where f.fetched_at <= p_at and f.climate_date >= (p_at at time zone 'UTC')::date - 1
                     order by f.city_code, f.climate_date, f.kind, f.source, f.fetched_at desc)
       and (w.last_seen_at is null or w.last_seen_at < p_at);
    get diagnostics v_confirmed = row_count;

    insert into ops.exchange_status (exchange_active, trading_active, fetched_at) values (true, true, p_at)
    on conflict (singleton) do update set exchange_active = true, trading_active = true, fetched_at = excluded.fetched_at;
    return jsonb_build_object('settled', v_settled, 'volumes', v_volumes, 'forecasts_confirmed', v_confirmed);
end
$$;
comment on function ops.replay_world_at(timestamptz) is 'Priced replay: the recorded world at p_at (settlements known by then, traded volume, current forecasts confirmed, exchange open); reads nothing after p_at.';

-- Resting paper orders against trade candles (no book, no taker side in the recording): a bucket that
-- began after the order was placed and traded at or through its price (a YES bid at p: a trade at <= p;
-- a NO bid, selling YES at p: a trade at >= p) fills it, up to the bucket's count, at the order's own
-- price as a maker, dated at the bucket's end. This is OPTIMISTIC on who traded with whom, and the replay
-- says so: the bucket's trades include ones on the wrong side of the price and ones at the price that a
-- queue ahead of the order would have taken first. On size it is cautious: the recorded count is of
-- trades, not contracts, and a fill takes at most that many contracts. Idempotent: each fill names the
-- bucket that completed it.
create or replace function ops.paper_match_candles(p_at timestamptz)
returns integer
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    n integer;
begin
    with open as (
        select o.id, o.client_order_id, o.ticker, o.side, o.price, o.count, q.placed_at
          from ops.orders o join ops.paper_queue q on q.order_id = o.id
         where o.mode = 'paper' and o.state in ('RESTING', 'PARTIALLY_FILLED')
           for update of o),
    due as (
        select o.*, f.filled, f.from_candles, t.traded, t.last_start, t.last_end,
               coalesce(m.fee_type, 'quadratic') as fee_type, coalesce(m.fee_multiplier, 1) as mult
          from open o
          left join ops.markets m on m.ticker = o.ticker
          cross join lateral (
              select coalesce(sum(x.count), 0) as filled,
                     coalesce(sum(x.count) filter (where x.fill_id like 'paper-%-c-%'), 0) as from_candles
                from ops.fills x where x.order_id = o.id) f
          cross join lateral (
              select coalesce(sum(c.count), 0) as traded, max(c.start) as last_start,
                     max(c.start + make_interval(mins => c.minutes)) as last_end
                from ops.recorded_candles c
               where c.ticker = o.ticker and c.start >= o.placed_at
                 and c.start + make_interval(mins => c.minutes) <= p_at
                 and case o.side when 'bid' then c.low <= o.price else c.high >= o.price end) t),
    sized as (
        select d.*, least(d.count - d.filled, d.traded - d.from_candles) as qty from due d)
    insert into ops.fills (fill_id, exchange_order_id, order_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
    select format('paper-%s-c-%s', s.id, to_char(s.last_start at time zone 'UTC', 'YYYYMMDDHH24MI')), 'paper-' || s.client_order_id,
           s.id, s.ticker, s.side, s.price, s.qty, false, ops.maker_fee(s.price, s.qty, s.fee_type, s.mult), s.last_end, 'paper'
      from sized s where s.qty > 0
    on conflict (fill_id) do nothing;
    get diagnostics n = row_count;
    return n;
end
$$;
comment on function ops.paper_match_candles(timestamptz) is 'Priced replay: fill resting paper orders from trade candles up to p_at (a bucket after placement that traded at or through the price, up to its count of trades; optimistic about who traded with whom). Returns fills written.';

-- What the replay decided, one row per signal of a settled daily market that the model priced: the
-- decision time and its offset from the start of the market's climate day (local standard time), the
-- model's, the market's (mid normalised over the ladder) and the traded probability, the claimed edge,
-- the outcome, and whether every bracket of the ladder was quoted then (else the market's p is a
-- normalisation over part of the ladder: not a probability, and not scored).
create or replace function ops.priced_replay_signals()
returns table (as_of timestamptz, ticker text, event_ticker text, city_code text, climate_date date, kind text,
               offset_h numeric, model_p numeric, market_p numeric, trade_p numeric, model_weight numeric,
               edge numeric, taken text, outcome integer, ladder_complete boolean)
language sql stable
set search_path = pg_catalog, ops
begin atomic
    with ladder as (select m2.event_ticker, count(*) as brackets from ops.markets m2 group by m2.event_ticker)
    select s.as_of, s.ticker, m.event_ticker, m.city_code, m.climate_date, m.kind::text,
           round(extract(epoch from s.as_of - ops.climate_day_start(m.climate_date, c.std_utc_offset)) / 3600.0, 2),
           coalesce((s.gates->'blend'->>'model_p')::numeric, s.model_p), (s.gates->'blend'->>'market_p')::numeric, s.model_p,
           coalesce((s.gates->'blend'->>'model_weight')::numeric, 1), s.edge, s.decision,
           case r.result when 'yes' then 1 else 0 end,
           -- the market's p is a probability only where every bracket of the ladder had a two-sided quote
           count(s.gates->'blend'->>'market_p') over (partition by s.as_of, m.event_ticker) = l.brackets
      from ops.signals s
      join ops.markets m on m.ticker = s.ticker
      join ladder l on l.event_ticker = m.event_ticker
      join ops.cities c on c.code = m.city_code
      join ops.recorded_results r on r.ticker = s.ticker
     where s.strategy in ('DailyHigh', 'DailyLow') and s.model_p is not null
     order by s.as_of, s.ticker;
end;
comment on function ops.priced_replay_signals() is 'Priced replay: every priced signal of a settled daily market with the model, market and traded p, the claimed edge, the decision time''s offset from the climate day start, and the outcome.';

-- Every order the replay placed, with what filled and what it earned once settled: contracts, the cost
-- (YES at its price, NO at 1 - price), fees, the payout, P&L after fees, and the edge its signal claimed
-- per contract (net of the taker fee) beside the edge realised per contract.
create or replace function ops.priced_replay_orders()
returns table (order_id bigint, as_of timestamptz, ticker text, city_code text, climate_date date, kind text,
               offset_h numeric, side text, price numeric, ordered numeric, filled numeric, cost numeric, fees numeric,
               payout numeric, pnl numeric, claimed_edge numeric, realised_edge numeric, result text, filled_at timestamptz)
language sql stable
set search_path = pg_catalog, ops
begin atomic
    select o.id, o.as_of, o.ticker, m.city_code, m.climate_date, m.kind::text,
           round(extract(epoch from o.as_of - ops.climate_day_start(m.climate_date, c.std_utc_offset)) / 3600.0, 2),
           o.side, o.price, o.count, coalesce(f.filled, 0), coalesce(f.cost, 0), coalesce(f.fees, 0),
           case when m.result in ('yes', 'no') then coalesce(f.filled, 0) * case when (m.result = 'yes') = (o.side = 'bid') then 1 else 0 end end,
           case when m.result in ('yes', 'no')
                then coalesce(f.filled, 0) * case when (m.result = 'yes') = (o.side = 'bid') then 1 else 0 end
                     - coalesce(f.cost, 0) - coalesce(f.fees, 0) end,
           s.edge,
           case when m.result in ('yes', 'no') and f.filled > 0
                then round((f.filled * case when (m.result = 'yes') = (o.side = 'bid') then 1 else 0 end - f.cost - f.fees) / f.filled, 6) end,
           m.result, f.last_at
      from ops.orders o
      join ops.markets m on m.ticker = o.ticker
      join ops.cities c on c.code = m.city_code
      left join ops.signals s on s.id = o.signal_id
      left join lateral (
            select sum(x.count) as filled,
                   sum(x.count * case x.side when 'bid' then x.yes_price else 1 - x.yes_price end) as cost,
                   sum(x.fee) as fees, max(x.created_time) as last_at
              from ops.fills x where x.order_id = o.id) f on true
     where o.mode = 'paper'
     order by o.as_of, o.id;
end;
comment on function ops.priced_replay_orders() is 'Priced replay: every paper order with its fills, cost, fees, payout and P&L after fees once settled, and the claimed vs realised edge per contract.';
