-- The executor's fast path (issue 25 §5): our fills and order updates as the WebSocket delivers them
-- (`fill`, `user_order`), and the REST pull of fills that reconciles them. Both write the same ledger,
-- idempotent by the exchange's trade id (REST's fill_id is the same id), so a fill seen twice -- on the
-- feed and in the pull, or twice on the feed -- counts once.

-- Fills read over REST (GET /portfolio/fills), as [{fill_id, exchange_order_id, ticker, side, yes_price,
-- count, is_taker, fee, created_time}]: stored once each (linked to our order by its exchange id, or
-- later by ops.fill_orders), the REST cursor moved, orders synced. Returns {new, tickers}.
create or replace function ops.record_rest_fills(p_mode ops.trading_mode, p_fills jsonb)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    v_new     integer;
    v_tickers text[];
begin
    if jsonb_typeof(p_fills) is distinct from 'array' then
        raise exception 'record_rest_fills: a JSON array of fills' using errcode = 'invalid_parameter_value';
    end if;
    with f as (
        select * from jsonb_to_recordset(p_fills) as x(fill_id text, exchange_order_id text, ticker text, side text,
                                                       yes_price numeric, count numeric, is_taker boolean, fee numeric,
                                                       created_time timestamptz)),
    ins as (
        insert into ops.fills (fill_id, exchange_order_id, order_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
        select f.fill_id, f.exchange_order_id, (select o.id from ops.orders o where o.exchange_order_id = f.exchange_order_id),
               f.ticker, f.side, f.yes_price, f.count, f.is_taker, f.fee, f.created_time, p_mode
          from f
        on conflict (fill_id) do nothing
        returning ticker)
    select count(*), coalesce(array_agg(distinct ins.ticker), '{}') into v_new, v_tickers from ins;
    insert into ops.fill_cursor (mode, rest_newest, updated_at)
    select p_mode, max(x.created_time), now() from jsonb_to_recordset(p_fills) as x(created_time timestamptz)
    having max(x.created_time) is not null
    on conflict (mode) do update set rest_newest = greatest(ops.fill_cursor.rest_newest, excluded.rest_newest),
                                     updated_at = excluded.updated_at;
    if v_new > 0 then
        perform ops.sync_fills_into_orders();
    end if;
    return jsonb_build_object('new', v_new, 'tickers', to_jsonb(v_tickers));
end
$$;
comment on function ops.record_rest_fills(ops.trading_mode, jsonb) is 'Executor: fills read over REST, stored once each by fill id; moves the REST cursor (ops.fill_cursor); orders follow their fills.';

-- Our private WebSocket messages, one batch in the order received:
--   * fill: into the ledger by trade id (= REST's fill_id), linked to our order by client or exchange id.
--     A fill of an order we do not know is left to the REST pull (which stores it and links it later).
--   * user_order: the order's state, only forward -- a message can make an open order final, confirm a
--     decrease (the count only shrinks), add fills (the filled count only grows) or adopt an order whose
--     send had no answer; it never reopens, grows or un-fills anything. So duplicates and reordering are
--     harmless, and anything the feed got wrong or missed the REST listing corrects.
-- Each message stands alone: a malformed one is refused with its reason (and a health event), the rest
-- recorded. Returns {fills, orders, unknown, refused}.
create or replace function ops.record_user_feed(p_msgs jsonb, p_received_at timestamptz)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    m         jsonb;
    x         jsonb;
    o         ops.orders%rowtype;
    v_side    text;
    v_fill    numeric;
    v_left    numeric;
    v_to      ops.order_state;
    v_n       integer;
    v_fills   integer := 0;
    v_orders  integer := 0;
    v_unknown integer := 0;
    v_bad     text[] := '{}';
begin
    if jsonb_typeof(p_msgs) is distinct from 'array' then
        raise exception 'record_user_feed: an array of messages' using errcode = 'invalid_parameter_value';
    end if;
    -- every order the batch names, locked at once in id order (as the executor's set-based functions
    -- lock them), so this never deadlocks with a listing or a fills sync running beside it
    perform 1 from ops.orders named
     where named.client_order_id in (select e->'msg'->>'client_order_id' from jsonb_array_elements(p_msgs) e)
        or named.exchange_order_id in (select e->'msg'->>'order_id' from jsonb_array_elements(p_msgs) e)
     order by named.id
       for update;
    for m in select e from jsonb_array_elements(p_msgs) e where e->>'type' in ('fill', 'user_order') loop
        x := m->'msg';
        begin
            select * into o from ops.orders
             where client_order_id = nullif(x->>'client_order_id', '') or exchange_order_id = x->>'order_id'
             order by (client_order_id = nullif(x->>'client_order_id', '')) desc nulls last limit 1
             for update;
            if not found or o.mode = 'paper' then
                v_unknown := v_unknown + 1;
                continue;
            end if;
            v_side := coalesce(x->>'book_side', case coalesce(x->>'outcome_side', x->>'side') when 'yes' then 'bid' when 'no' then 'ask' end);
            if v_side is distinct from o.side then
                raise exception '% for order % says side %, ours is %', m->>'type', o.id, coalesce(v_side, 'none'), o.side
                    using errcode = 'invalid_parameter_value';
            end if;
            if m->>'type' = 'fill' then
                if x->>'trade_id' is null or x->>'market_ticker' is distinct from o.ticker then
                    raise exception 'fill for order % without a trade id or for another market (%)', o.id, x->>'market_ticker'
                        using errcode = 'invalid_parameter_value';
                end if;
                insert into ops.fills (fill_id, exchange_order_id, order_id, ticker, side, yes_price, count, is_taker, fee, created_time, mode)
                values (x->>'trade_id', x->>'order_id', o.id, o.ticker, o.side, (x->>'yes_price_dollars')::numeric,
                        (x->>'count_fp')::numeric, (x->>'is_taker')::boolean, coalesce((x->>'fee_cost')::numeric, 0),
                        coalesce(to_timestamp((x->>'ts_ms')::numeric / 1000), to_timestamp((x->>'ts')::numeric), p_received_at), o.mode)
                on conflict (fill_id) do nothing;
                get diagnostics v_n = row_count;
                v_fills := v_fills + v_n;
            else
                v_fill := (x->>'fill_count_fp')::numeric;
                v_left := (x->>'remaining_count_fp')::numeric;
                if v_fill is null or v_left is null or v_fill < 0 or v_left < 0 or x->>'status' is null then
                    raise exception 'user_order for order % without its counts or status', o.id using errcode = 'invalid_parameter_value';
                end if;
                if o.state in ('PENDING', 'FILLED', 'CANCELED', 'EXPIRED', 'REJECTED') or v_fill > o.count then
                    continue;        -- final (or not sent): only the listing may correct it; more filled than ours: likewise
                end if;
                v_to := case x->>'status'
                            when 'executed' then 'FILLED'
                            when 'canceled' then 'CANCELED'
                            when 'resting' then case when o.state = 'CANCEL_PENDING' then 'CANCEL_PENDING'
                                                     when greatest(v_fill, o.filled_count) > 0 then 'PARTIALLY_FILLED'
                                                     else 'RESTING' end
                        end;
                if v_to is null then
                    continue;        -- a status this path does not act on: the listing will
                end if;
                perform set_config('milkbot.transition_reason', format('feed: user_order %s (filled %s, remaining %s)',
                                                                      x->>'status', v_fill, v_left), true);
                update ops.orders
                   set state = v_to,
                       exchange_order_id = coalesce(exchange_order_id, x->>'order_id'),
                       exchange_status = x->>'status',
                       filled_count = greatest(filled_count, v_fill),
                       -- the count only shrinks (a confirmed decrease; executed: what filled is all there was)
                       count = greatest(least(count, case x->>'status' when 'resting' then v_fill + v_left
                                                                       when 'executed' then v_fill else count end),
                                        filled_count, v_fill),
                       outcome_unknown_since = case when v_to in ('RESTING', 'PARTIALLY_FILLED', 'CANCEL_PENDING') then null
                                                    else outcome_unknown_since end
                 where id = o.id
                   and (state, filled_count, count, exchange_status) is distinct from
                       (v_to, greatest(filled_count, v_fill),
                        greatest(least(count, case x->>'status' when 'resting' then v_fill + v_left
                                                                when 'executed' then v_fill else count end), filled_count, v_fill),
                        x->>'status');
                get diagnostics v_n = row_count;
                v_orders := v_orders + v_n;
            end if;
        exception when data_exception or integrity_constraint_violation then
            v_bad := v_bad || format('%s: %s', coalesce(m->>'type', '?'), sqlerrm);
        end;
    end loop;
    perform set_config('milkbot.transition_reason', '', true);
    if v_fills > 0 then
        perform ops.sync_fills_into_orders();
    end if;
    if cardinality(v_bad) > 0 then
        insert into ops.health_events (at, component, level, message)
        select p_received_at, 'executor', 'warning', left('feed: refused ' || b, 500) from unnest(v_bad) b;
    end if;
    return jsonb_build_object('fills', v_fills, 'orders', v_orders, 'unknown', v_unknown, 'refused', to_jsonb(v_bad));
end
$$;
comment on function ops.record_user_feed(jsonb, timestamptz) is 'Executor fast path: our fill and user_order WebSocket messages into the ledger (once per trade id) and the orders (forward only); each malformed message refused alone.';
