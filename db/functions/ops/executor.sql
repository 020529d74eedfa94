-- What happens to an order now: the executor's decisions, in SQL. The executor talks HTTP, calls these
-- with what it was told, and follows the answers. Every time is the executor's clock (p_as_of).

create or replace function ops.executor_param(p_name text)
returns numeric
language sql stable
begin atomic
    select value from ops.strategy_params where strategy = 'all' and name = p_name;
end;
comment on function ops.executor_param(text) is 'An executor parameter from ops.strategy_params (strategy all).';

-- Claim a queued intent. Answers:
--   submit  — the order is now SUBMITTING (committed before the POST): send it, once
--   unknown — it was already SUBMITTING: a previous run died mid-send, so it may or may not be at the
--             exchange. It is now UNKNOWN and is never re-sent; the listing resolves it.
--   skip    — nothing to send (already handled, or cancelled here with the reason)
create or replace function ops.claim_intent(p_order_id bigint, p_mode ops.trading_mode, p_as_of timestamptz)
returns table (action text, reason text, ticker text, side text, price numeric, count numeric,
               client_order_id text, time_in_force text, cancel_on_pause boolean)
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    o       ops.orders%rowtype;
    v_state ops.trading_state_kind;
    v_close timestamptz;
    v_why   text;
begin
    select * into o from ops.orders where id = p_order_id for update;
    if not found then
        return query select 'skip', format('order %s does not exist', p_order_id), null::text, null::text, null::numeric,
                            null::numeric, null::text, null::text, null::boolean;
        return;
    end if;
    if o.state = 'SUBMITTING' then
        perform set_config('milkbot.transition_reason', 'interrupted mid-send: the outcome is unknown until the exchange shows it', true);
        update ops.orders set state = 'UNKNOWN', outcome_unknown_since = p_as_of where id = o.id;
        return query select 'unknown', 'interrupted mid-send', o.ticker, o.side, o.price, o.count, o.client_order_id,
                            o.time_in_force, o.cancel_on_pause;
        return;
    end if;
    if o.state <> 'PENDING' then
        return query select 'skip', format('already %s', o.state), o.ticker, o.side, o.price, o.count, o.client_order_id,
                            o.time_in_force, o.cancel_on_pause;
        return;
    end if;
    select t.state into v_state from ops.trading_state t;
    select m.close_time into v_close from ops.markets m where m.ticker = o.ticker;
    -- the kill switch always wins; then the intent must still be current, for this executor's book,
    -- and the market must not be about to close
    v_why := case
        when v_state = 'HALTED' then 'kill switch: trading HALTED'
        when v_state = 'REDUCING' and not o.reduces_exposure then 'trading REDUCING: order does not reduce exposure'
        when o.superseded_by is not null or o.cancel_requested_at is not null then 'intent no longer current'
        when o.mode <> p_mode then format('intent made for %s mode, executor runs %s', o.mode, p_mode)
        when v_close - make_interval(mins => ops.executor_param('close_buffer_min')::int) <= p_as_of
            then format('market closes at %s: within close_buffer_min', v_close)
        -- the exchange refuses orders in its weekly maintenance: sending one would only count a reject
        -- toward the error breaker
        when ops.in_weekly_maintenance(p_as_of) then 'exchange weekly maintenance window'
    end;
    if v_why is not null then
        perform set_config('milkbot.transition_reason', v_why, true);
        update ops.orders set state = 'CANCELED' where id = o.id;
        return query select 'skip', v_why, o.ticker, o.side, o.price, o.count, o.client_order_id, o.time_in_force, o.cancel_on_pause;
        return;
    end if;
    perform set_config('milkbot.transition_reason', 'sending', true);
    update ops.orders set state = 'SUBMITTING' where id = o.id;
    return query select 'submit', 'sending', o.ticker, o.side, o.price, o.count, o.client_order_id, o.time_in_force, o.cancel_on_pause;
end
$$;
comment on function ops.claim_intent(bigint, ops.trading_mode, timestamptz) is 'Executor: claim a queued intent -> submit (now SUBMITTING) / unknown (interrupted mid-send, never re-sent) / skip (with the reason).';

-- How one POST's answer is classified (a decision, so here and not in the worker): 201 with its order id
-- and counts -> accepted; 409 -> duplicate (an order with our client id exists: the listing adopts it);
-- another 4xx except 408/429 -> rejected (the exchange refused it: it does not exist); everything else
-- (408, 429, 5xx, no reply, a 201 we cannot read) -> unknown: it may exist, the listing decides.
create or replace function ops.submit_outcome(p_http_status integer, p_readable boolean default true)
returns text
language sql immutable
return case
    when p_http_status = 201 and p_readable then 'accepted'
    when p_http_status = 409 then 'duplicate'
    when p_http_status between 400 and 499 and p_http_status not in (408, 429) then 'rejected'
    else 'unknown'
end;
comment on function ops.submit_outcome(integer, boolean) is 'Executor: classify the answer to an order POST by HTTP status (null = no reply): accepted / duplicate / rejected / unknown.';

-- Record what one POST answered: p_http_status (null = no reply), whether a 201 was readable, and what
-- it said. Returns the order's next state.
create or replace function ops.record_submit(p_order_id bigint, p_http_status integer, p_readable boolean,
                                             p_exchange_order_id text, p_fill_count numeric, p_remaining numeric,
                                             p_code text, p_excerpt text, p_as_of timestamptz)
returns ops.order_state
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    o         ops.orders%rowtype;
    v_outcome text := ops.submit_outcome(p_http_status, p_readable);
    v_to      ops.order_state;
    v_why     text;
begin
    select * into o from ops.orders where id = p_order_id for update;
    if o.state <> 'SUBMITTING' then
        return o.state;    -- already resolved (e.g. a listing adopted it first)
    end if;
    if v_outcome = 'accepted' then
        v_to := case when p_fill_count >= o.count then 'FILLED'
                     when p_remaining = 0 then 'CANCELED'          -- immediate-or-cancel: the rest is gone
                     when p_fill_count > 0 then 'PARTIALLY_FILLED'
                     else 'RESTING' end;
        v_why := case when v_to = 'CANCELED' then format('exchange accepted (201): filled %s of %s, the rest cancelled (%s)',
                                                           p_fill_count, o.count, o.time_in_force)
                      else 'exchange accepted (201)' end;
    elsif v_outcome = 'rejected' then
        v_to := 'REJECTED'; v_why := format('exchange rejected: %s', p_code);
    else
        -- a 409 says an order with our client_order_id exists: the listing adopts it
        v_to := 'UNKNOWN'; v_why := format('outcome unknown: %s', p_code);
    end if;
    perform set_config('milkbot.transition_reason', v_why, true),
            set_config('milkbot.exchange_excerpt', coalesce(p_excerpt, ''), true);
    update ops.orders
       set state = v_to,
           exchange_order_id = coalesce(p_exchange_order_id, exchange_order_id),
           filled_count = greatest(filled_count, least(coalesce(p_fill_count, 0), count)),
           exchange_status = case v_to when 'FILLED' then 'executed' when 'CANCELED' then 'canceled'
                                       when 'RESTING' then 'resting' when 'PARTIALLY_FILLED' then 'resting' end,
           last_error = case when v_to in ('REJECTED', 'UNKNOWN') then left(p_code, 2000) else last_error end,
           outcome_unknown_since = case when v_to = 'UNKNOWN' then p_as_of end
     where id = o.id;
    perform set_config('milkbot.exchange_excerpt', '', true);
    return v_to;
end
$$;
comment on function ops.record_submit(bigint, integer, boolean, text, numeric, numeric, text, text, timestamptz) is 'Executor: record the answer to one POST (HTTP status, classified by ops.submit_outcome) as the order''s next state.';

-- Orders to cancel now, with the reason: superseded or withdrawn by the cycle, a surplus second live
-- order, a decrease whose target fills have already reached, near close, and unconfirmed cancels
-- (re-sent). HALTED cancels everything of ours that may rest:
--   * every order the listing shows resting, ours or not and whatever state we hold it in (order_id is
--     given only where the row can move to CANCEL_PENDING; otherwise the cancel is sent by exchange id
--     and the next listing records what happened);
--   * p_listing null means the listing could not be read: then every order with a known exchange id on
--     an open market that the exchange has not itself reported final (executed/canceled) is cancelled
--     blind by its exchange id. An order whose exchange id we never learnt (an unknown outcome) cannot be
--     named; orders carry cancel_order_on_pause, and the listing is retried on its own each pass.
create or replace function ops.orders_to_cancel(p_as_of timestamptz, p_mode ops.trading_mode, p_listing jsonb default '[]')
returns table (order_id bigint, exchange_order_id text, reason text)
language sql stable
begin atomic
    with halted as (select t.state = 'HALTED' as on from ops.trading_state t),
    ours as (
        select o.id, o.exchange_order_id,
               case when (select h.on from halted h) then 'kill switch: trading HALTED'
                    when o.state = 'CANCEL_PENDING' then 'cancel not confirmed yet: re-sent'
                    when o.superseded_by is not null then 'superseded by a new target'
                    when o.intent_key like 'adopted|%' then 'adopted: an order we have no decision for'
                    when o.cancel_requested_at is not null then 'withdrawn by the cycle'
                    when o.decrease_to is not null and o.filled_count >= o.decrease_to
                        then format('decrease target %s already filled (%s): the rest is cancelled', o.decrease_to, o.filled_count)
                    when m.close_time - make_interval(mins => ops.executor_param('close_buffer_min')::int) <= p_as_of
                        then format('market closes at %s', m.close_time)
               end as reason
          from ops.orders o join ops.markets m on m.ticker = o.ticker
         where o.mode = p_mode and o.exchange_order_id is not null
           and o.state in ('RESTING', 'PARTIALLY_FILLED', 'CANCEL_PENDING')),
    chosen as (select ours.id, ours.exchange_order_id, ours.reason from ours where ours.reason is not null),
    listed as (
        select x.order_id as xid, x.client_order_id from jsonb_to_recordset(coalesce(p_listing, '[]')) as x(order_id text, client_order_id text, status text)
         where x.status = 'resting')
    select c.id, c.exchange_order_id, c.reason from chosen c
    union all
    select null::bigint, l.xid,
           case when exists (select 1 from ops.orders o where o.exchange_order_id = l.xid or o.client_order_id = l.client_order_id)
                then 'kill switch: trading HALTED (resting at the exchange whatever we recorded)'
                else 'kill switch: trading HALTED (resting at the exchange, not an order of ours)' end
      from listed l
     where (select h.on from halted h) and not exists (select 1 from chosen c where c.exchange_order_id = l.xid)
    union all
    select null::bigint, o.exchange_order_id, 'kill switch: trading HALTED, listing unreadable: cancelled blind by exchange id'
      from ops.orders o join ops.markets m on m.ticker = o.ticker
     where p_listing is null and (select h.on from halted h)
       and o.mode = p_mode and o.host <> 'paper' and o.exchange_order_id is not null and m.close_time > p_as_of
       and not exists (select 1 from chosen c where c.exchange_order_id = o.exchange_order_id)
       and coalesce(o.exchange_status, 'resting') = 'resting'
       and o.state not in ('RESTING', 'PARTIALLY_FILLED', 'CANCEL_PENDING');
end;
comment on function ops.orders_to_cancel(timestamptz, ops.trading_mode, jsonb) is 'Executor: orders to cancel now and why (superseded, withdrawn, surplus, decrease target filled, near close, unconfirmed cancels; HALTED: everything that may rest, also blind by exchange id when the listing is unreadable).';

-- Record the answer to one DELETE. A 200 is the exchange's word that the order is off the book (its
-- reduced_by is what was still resting): CANCELED. Any other answer leaves it CANCEL_PENDING with the
-- error, re-sent next pass; the listing settles what happened.
create or replace function ops.record_cancel(p_order_id bigint, p_http_status integer, p_detail text, p_reason text)
returns ops.order_state
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    o ops.orders%rowtype;
begin
    select * into o from ops.orders where id = p_order_id for update;
    if not found then
        raise exception 'order % does not exist', p_order_id using errcode = 'invalid_parameter_value';
    end if;
    if p_http_status = 200 and o.state in ('RESTING', 'PARTIALLY_FILLED', 'CANCEL_PENDING') then
        perform set_config('milkbot.transition_reason', format('cancel confirmed: %s', p_reason), true),
                set_config('milkbot.exchange_excerpt', coalesce(p_detail, ''), true);
        update ops.orders set state = 'CANCELED', exchange_status = 'canceled', decrease_to = null where id = o.id;
        perform set_config('milkbot.exchange_excerpt', '', true);
        return 'CANCELED';
    end if;
    update ops.orders set last_error = left(format('cancel: %s %s', coalesce(p_http_status::text, 'no reply'), p_detail), 2000)
     where id = o.id;
    return o.state;
end
$$;
comment on function ops.record_cancel(bigint, integer, text, text) is 'Executor: record the answer to one DELETE (200 -> CANCELED; otherwise the error, re-sent next pass).';

-- The cycle's decrease: keep p_keep more contracts working beyond what is filled as the cycle sees it,
-- i.e. a target TOTAL (filled + remaining) of filled_count + p_keep. Fills that land before the exchange
-- processes the request count toward that total, never on top of it (see ops.decreases_to_send).
create or replace function ops.request_decrease(p_order_id bigint, p_keep numeric, p_as_of timestamptz)
returns numeric
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    o ops.orders%rowtype;
begin
    if p_keep is null or p_keep < 0 then
        raise exception 'a decrease keeps 0 or more contracts, not %', p_keep using errcode = 'invalid_parameter_value';
    end if;
    select * into o from ops.orders where id = p_order_id for update;
    if o.state = 'PENDING' then
        -- never sent: cut it here, nothing to ask the exchange
        update ops.orders set count = filled_count + p_keep where id = o.id and filled_count + p_keep > 0;
        return o.filled_count + p_keep;
    end if;
    update ops.orders
       set decrease_to = least(coalesce(decrease_to, count), filled_count + p_keep), decrease_requested_at = p_as_of
     where id = o.id;
    return least(coalesce(o.decrease_to, o.count), o.filled_count + p_keep);
end
$$;
comment on function ops.request_decrease(bigint, numeric, timestamptz) is 'Cycle: ask that an order keep p_keep contracts beyond its fills (target total = filled + keep; a decrease never grows).';

-- Decreases to send now, as reduce_by = count - target total. count is the exchange's (every listing
-- sets it), and a decrease changes it only by what it removes, so however many fills land between the
-- decision and the exchange processing the request, filled + remaining ends at the target. (reduce_to =
-- target - filled would add every fill we have not seen yet on top of the target.) A decrease is sent
-- again only after a listing has shown the order since the last send: a lost reply may have applied it. An order whose
-- fills already reached the target is cancelled instead (ops.orders_to_cancel).
create or replace function ops.decreases_to_send(p_mode ops.trading_mode)
returns table (order_id bigint, exchange_order_id text, reduce_by numeric)
language sql stable
begin atomic
    select o.id, o.exchange_order_id, o.count - o.decrease_to
      from ops.orders o
     where o.mode = p_mode and o.decrease_to is not null and o.exchange_order_id is not null
       and o.state in ('RESTING', 'PARTIALLY_FILLED') and o.cancel_requested_at is null and o.superseded_by is null
       and o.count > o.decrease_to and o.filled_count < o.decrease_to
       and (not o.decrease_awaits_listing or o.host = 'paper');
end;
comment on function ops.decreases_to_send(ops.trading_mode) is 'Executor: decreases the cycle asked for that are not yet confirmed, as reduce_by (count - target total); re-sent only after a listing has shown the order again.';

create or replace function ops.mark_decrease_sent(p_order_id bigint, p_as_of timestamptz)
returns void
language sql security definer
set search_path = pg_catalog, ops
begin atomic
    update ops.orders set decrease_sent_at = p_as_of, decrease_awaits_listing = true where id = p_order_id;
end;
comment on function ops.mark_decrease_sent(bigint, timestamptz) is 'Executor: a decrease is about to be sent (committed before the request).';

-- Record a decrease the exchange answered 200: it removed exactly p_reduce_by contracts, so the order's
-- count (filled + remaining) drops by that — whatever filled meanwhile. When the reply also gives the
-- remaining count, that is what still rests: nothing left means the order is off the book; otherwise
-- the listing confirms the rest. Returns the order's new count.
create or replace function ops.record_decrease(p_order_id bigint, p_reduce_by numeric, p_remaining numeric, p_excerpt text)
returns numeric
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    o        ops.orders%rowtype;
    v_count  numeric;
    v_filled numeric;
    v_state  ops.order_state;
begin
    select * into o from ops.orders where id = p_order_id for update;
    if not found then
        raise exception 'order % does not exist', p_order_id using errcode = 'invalid_parameter_value';
    end if;
    -- (decreases_to_send never asks for the whole order: a target already filled is a cancel instead)
    v_count := greatest(o.count - greatest(p_reduce_by, 0), o.filled_count, 0.01);
    -- with the remaining count, the exchange's filled is count - remaining (fills we have not pulled yet)
    v_filled := case when p_remaining is null then o.filled_count
                     else greatest(o.filled_count, least(v_count - p_remaining, v_count)) end;
    v_state := case when o.state not in ('RESTING', 'PARTIALLY_FILLED') then o.state
                    when v_filled >= v_count then 'FILLED'
                    when p_remaining = 0 then 'CANCELED'
                    when v_filled > 0 then 'PARTIALLY_FILLED'
                    else o.state end;
    perform set_config('milkbot.transition_reason',
                       case when p_remaining = 0 then 'decreased: nothing left resting' else 'decrease confirmed' end, true),
            set_config('milkbot.exchange_excerpt', coalesce(p_excerpt, ''), true);
    update ops.orders
       set count = v_count, filled_count = v_filled, state = v_state,
           exchange_status = case when p_remaining = 0 then case when v_filled >= v_count then 'executed' else 'canceled' end
                                  else exchange_status end,
           decrease_to = case when v_count <= decrease_to or p_remaining = 0 then null else decrease_to end
     where id = o.id;
    perform set_config('milkbot.exchange_excerpt', '', true);
    return v_count;
end
$$;
comment on function ops.record_decrease(bigint, numeric, numeric, text) is 'Executor: record a decrease the exchange confirmed (count drops by reduce_by; nothing left -> CANCELED; no remaining in the reply -> the listing confirms).';

-- The exchange is the truth for what exists. p_listing: every order GET /portfolio/orders lists (all
-- pages), as [{order_id, client_order_id, ticker, side, price, status, fill_count, remaining_count,
-- initial_count, created_time}]. Matched to ours by client_order_id:
--   * ours found there take its state, exchange id, fills and remaining size (decreases confirmed);
--     an UNKNOWN or ABSENT_PRESUMED order that appears is adopted — never ignored;
--   * ours UNKNOWN and not there count one absent read; after unknown_min_reads reads spanning
--     unknown_grace_s from when the outcome became unknown, ABSENT_PRESUMED (never "never placed");
--   * a stale SUBMITTING (interrupted mid-send) becomes UNKNOWN;
--   * orders with our prefix we do not know are adopted as new rows; anything else resting is raised.
-- Returns counts, and the orders whose state still differs from the exchange's (both ways).
create or replace function ops.apply_exchange_listing(p_as_of timestamptz, p_mode ops.trading_mode, p_listing jsonb,
                                                      p_prefix text default 'mb-')
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    v_grace    interval := make_interval(secs => ops.executor_param('unknown_grace_s'));
    v_reads    integer  := ops.executor_param('unknown_min_reads')::int;
    v_stale    interval := make_interval(secs => ops.executor_param('stale_submitting_s'));
    v_found    integer := 0;
    v_absent   integer := 0;
    v_presumed integer := 0;
    v_adopted  integer := 0;
    v_foreign  integer := 0;
    v_mismatch jsonb;
    rec        record;
    v_id       bigint;
    v_raised   integer;
    v_surplus  boolean;
begin
    if jsonb_typeof(p_listing) <> 'array' then
        raise exception 'the listing must be a JSON array of orders' using errcode = 'invalid_parameter_value';
    end if;
    create temp table if not exists pg_temp.listing (
        order_id text, client_order_id text, ticker text, side text, price numeric, status text,
        fill_count numeric, remaining_count numeric, initial_count numeric, created_time timestamptz) on commit drop;
    truncate pg_temp.listing;
    insert into pg_temp.listing
    select x.order_id, x.client_order_id, x.ticker, x.side, x.price, x.status, x.fill_count, x.remaining_count,
           x.initial_count, x.created_time
      from jsonb_to_recordset(p_listing) as x(order_id text, client_order_id text, ticker text, side text, price numeric,
                                              status text, fill_count numeric, remaining_count numeric,
                                              initial_count numeric, created_time timestamptz);

    -- interrupted mid-send: unknown from now on (the database clock ages SUBMITTING; the grace runs on ours)
    perform set_config('milkbot.transition_reason', 'interrupted mid-send: the outcome is unknown until the exchange shows it', true);
    update ops.orders o set state = 'UNKNOWN', outcome_unknown_since = p_as_of
     where o.mode = p_mode and o.state = 'SUBMITTING' and o.updated_at < now() - v_stale
       and not exists (select 1 from pg_temp.listing l where l.client_order_id = o.client_order_id);

    -- 1. ours, found at the exchange: its listing is the truth for state, count, filled and remaining,
    --    whatever we recorded (an understated count, a cancel or a fill we believed). An order it lists as
    --    resting is live in our book; if that makes it a second live order on its market (it was presumed
    --    absent, or recorded final, and the cycle has placed another since), it is withdrawn at once —
    --    cancelled by the sweep that follows — and raised as a surplus. Adoption never fails.
    for rec in
        select o.id, o.state, o.count, o.filled_count, o.ticker, o.client_order_id, o.superseded_by, o.cancel_requested_at,
               o.exchange_status, l.order_id as xid, l.status, l.fill_count, l.remaining_count,
               case l.status
                   when 'executed' then 'FILLED'
                   when 'canceled' then 'CANCELED'
                   when 'resting' then case when o.state = 'CANCEL_PENDING' then 'CANCEL_PENDING'
                                            when greatest(l.fill_count, o.filled_count) > 0 then 'PARTIALLY_FILLED' else 'RESTING' end
               end::ops.order_state as target
          from ops.orders o join pg_temp.listing l on l.client_order_id = o.client_order_id
         where o.mode = p_mode and o.state <> 'PENDING'
           and l.status in ('executed', 'canceled', 'resting')
           and (o.state::text, o.filled_count, o.count, o.exchange_status, o.exchange_order_id)
               is distinct from
               (case l.status when 'executed' then 'FILLED' when 'canceled' then 'CANCELED'
                              else case when o.state = 'CANCEL_PENDING' then 'CANCEL_PENDING'
                                        when greatest(l.fill_count, o.filled_count) > 0 then 'PARTIALLY_FILLED' else 'RESTING' end end,
                greatest(o.filled_count, l.fill_count),
                case l.status when 'resting' then greatest(l.fill_count + l.remaining_count, o.filled_count, l.fill_count)
                              when 'executed' then greatest(l.fill_count, o.filled_count)
                              else greatest(o.count, l.fill_count) end,
                l.status, l.order_id)
         order by o.id
         for update of o
    loop
        v_surplus := rec.target in ('RESTING', 'PARTIALLY_FILLED')
                     and rec.state not in ('SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN', 'CANCEL_PENDING')
                     and rec.superseded_by is null and rec.cancel_requested_at is null
                     and exists (select 1 from ops.orders x
                                  where x.mode = p_mode and x.ticker = rec.ticker and x.id <> rec.id
                                    and x.superseded_by is null and x.cancel_requested_at is null
                                    and x.state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN'));
        perform set_config('milkbot.transition_reason',
                           case when rec.state in ('UNKNOWN', 'ABSENT_PRESUMED', 'SUBMITTING', 'REJECTED')
                                    then format('found at the exchange (%s): adopted', rec.status)
                                when rec.state in ('FILLED', 'CANCELED', 'EXPIRED') and rec.target <> rec.state
                                    then format('the exchange lists it %s (filled %s, remaining %s): our record corrected', rec.status,
                                                rec.fill_count, rec.remaining_count)
                                when rec.target = 'CANCELED' and rec.state <> 'CANCEL_PENDING'
                                    then 'canceled by the exchange (self-trade prevention, a pause, or the rest of an IOC)'
                                else format('exchange listing: %s', rec.status) end
                           || case when v_surplus then '; a second live order on its market: withdrawn' else '' end, true);
        begin
            update ops.orders
               set state = rec.target,
                   exchange_order_id = rec.xid,
                   exchange_status = rec.status,
                   filled_count = greatest(filled_count, rec.fill_count),
                   -- the exchange's size is the truth: resting = filled + remaining (a confirmed decrease, or a
                   -- count we understated); executed = all of it filled
                   count = case rec.status when 'resting' then greatest(rec.fill_count + rec.remaining_count, filled_count, rec.fill_count)
                                           when 'executed' then greatest(rec.fill_count, filled_count)
                                           else greatest(count, rec.fill_count) end,
                   decrease_to = case when rec.status <> 'resting' then null
                                      when rec.fill_count + rec.remaining_count <= decrease_to then null else decrease_to end,
                   cancel_requested_at = case when v_surplus then p_as_of else cancel_requested_at end,
                   absent_reads = 0, outcome_unknown_since = null
             where id = rec.id;
        exception when check_violation then
            -- a move the state machine does not know: never wedge the listing on one order; raise it
            insert into ops.risk_events (at, kind, severity, ticker, detail, message)
            values (p_as_of, 'order_mismatch', 'critical', rec.ticker,
                    jsonb_build_object('order_id', rec.id, 'ours', rec.state, 'exchange', rec.status, 'error', sqlerrm),
                    format('order %s: the exchange lists it %s, we hold it %s, and that move is not allowed: %s',
                           rec.id, rec.status, rec.state, sqlerrm));
            continue;
        when unique_violation then
            -- a cycle placed a live order on this market after the check above: this one is the surplus
            v_surplus := true;
            update ops.orders
               set state = rec.target, exchange_order_id = rec.xid, exchange_status = rec.status,
                   filled_count = greatest(filled_count, rec.fill_count),
                   count = case rec.status when 'resting' then greatest(rec.fill_count + rec.remaining_count, filled_count, rec.fill_count)
                                           when 'executed' then greatest(rec.fill_count, filled_count)
                                           else greatest(count, rec.fill_count) end,
                   decrease_to = null, cancel_requested_at = p_as_of, absent_reads = 0, outcome_unknown_since = null
             where id = rec.id;
        end;
        if v_surplus then
            insert into ops.risk_events (at, kind, severity, ticker, detail, message)
            values (p_as_of, 'surplus_order', 'warning', rec.ticker,
                    jsonb_build_object('order_id', rec.id, 'client_order_id', rec.client_order_id, 'was', rec.state,
                                       'exchange', rec.status, 'remaining', rec.remaining_count),
                    format('order %s (%s) rests at the exchange beside the market''s live order: cancelled at once (%s remaining)',
                           rec.id, rec.client_order_id, rec.remaining_count));
        end if;
        if rec.state in ('UNKNOWN', 'ABSENT_PRESUMED', 'SUBMITTING') then
            v_found := v_found + 1;
        end if;
    end loop;
    -- a decrease sent before this listing may be re-sent now: the listing has shown what it did
    update ops.orders o set decrease_awaits_listing = false
      from pg_temp.listing l
     where l.client_order_id = o.client_order_id and o.mode = p_mode and o.decrease_awaits_listing;

    -- 2. ours, unknown and not listed: one more absent read; absence presumed only after enough reads
    --    spread over the grace period
    update ops.orders o set absent_reads = o.absent_reads + 1, last_absent_at = p_as_of
     where o.mode = p_mode and o.state = 'UNKNOWN'
       and not exists (select 1 from pg_temp.listing l where l.client_order_id = o.client_order_id);
    get diagnostics v_absent = row_count;
    perform set_config('milkbot.transition_reason',
                       format('not listed at the exchange in %s+ reads over %s: presumed absent (adopted if it ever appears)', v_reads, v_grace), true);
    with presumed as (
        update ops.orders o set state = 'ABSENT_PRESUMED'
         where o.mode = p_mode and o.state = 'UNKNOWN' and o.absent_reads >= v_reads
           and p_as_of - coalesce(o.outcome_unknown_since, o.updated_at) >= v_grace
        returning o.id, o.ticker, o.client_order_id, o.absent_reads)
    insert into ops.risk_events (at, kind, severity, ticker, detail, message)
    select p_as_of, 'absent_presumed', 'warning', p.ticker,
           jsonb_build_object('order_id', p.id, 'client_order_id', p.client_order_id, 'reads', p.absent_reads),
           format('order %s (%s): outcome unknown, not at the exchange after %s reads over %s: presumed absent', p.id, p.client_order_id, p.absent_reads, v_grace)
      from presumed p;
    get diagnostics v_presumed = row_count;

    -- 3. orders with our prefix that we do not know: adopt them (a lost row, a restore from backup)
    for rec in
        select l.* from pg_temp.listing l
         where l.client_order_id like p_prefix || '%'
           and not exists (select 1 from ops.orders o where o.client_order_id = l.client_order_id)
    loop
        if not exists (select 1 from ops.markets m where m.ticker = rec.ticker) or rec.side not in ('bid', 'ask')
           or not rec.price > 0 or not rec.price < 1 then
            if not exists (select 1 from ops.risk_events e where e.kind = 'foreign_order' and e.detail->>'order_id' = rec.order_id) then
                insert into ops.risk_events (at, kind, severity, detail, message)
                values (p_as_of, 'foreign_order', 'critical', jsonb_build_object('order_id', rec.order_id, 'client_order_id', rec.client_order_id,
                        'ticker', rec.ticker, 'status', rec.status),
                        format('order %s with our prefix on %s cannot be adopted (unknown market or terms)', rec.client_order_id, rec.ticker));
                v_foreign := v_foreign + 1;
            end if;
            continue;
        end if;
        perform set_config('milkbot.transition_reason', 'adopted: found at the exchange with our prefix, unknown to us', true);
        -- withdrawn from its first moment (cancel_requested_at at insert): never the market's live order, so
        -- it cannot collide with one, and the sweep cancels it if it rests
        insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host, as_of,
                                cancel_requested_at)
        select 'adopted|' || rec.client_order_id, rec.client_order_id, rec.ticker,
               case m.kind when 'high' then 'DailyHigh' when 'low' then 'DailyLow' else 'Monthly' end::ops.strategy,
               rec.side, rec.price,
               greatest(case when rec.status = 'resting' then rec.fill_count + rec.remaining_count
                             else coalesce(rec.initial_count, rec.fill_count + rec.remaining_count) end, rec.fill_count, 1),
               p_mode, 'adopted', coalesce(rec.created_time, p_as_of), p_as_of
          from ops.markets m where m.ticker = rec.ticker
        returning id into v_id;
        update ops.orders set state = 'SUBMITTING' where id = v_id;
        update ops.orders
           set state = case rec.status when 'executed' then 'FILLED' when 'canceled' then 'CANCELED'
                                       else case when rec.fill_count > 0 then 'PARTIALLY_FILLED' else 'RESTING' end end::ops.order_state,
               exchange_order_id = rec.order_id, filled_count = least(rec.fill_count, count),
               exchange_status = case when rec.status in ('resting', 'executed', 'canceled') then rec.status end
         where id = v_id;
        if rec.status = 'resting' and exists (select 1 from ops.orders x
                                               where x.mode = p_mode and x.ticker = rec.ticker and x.id <> v_id
                                                 and x.superseded_by is null and x.cancel_requested_at is null
                                                 and x.state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN')) then
            insert into ops.risk_events (at, kind, severity, ticker, detail, message)
            values (p_as_of, 'surplus_order', 'warning', rec.ticker,
                    jsonb_build_object('order_id', v_id, 'client_order_id', rec.client_order_id, 'exchange', rec.status,
                                       'remaining', rec.remaining_count),
                    format('adopted order %s rests beside the market''s live order: cancelled at once (%s remaining)',
                           rec.client_order_id, rec.remaining_count));
        end if;
        insert into ops.risk_events (at, kind, severity, ticker, detail, message)
        values (p_as_of, 'order_adopted', 'warning', rec.ticker, jsonb_build_object('order_id', v_id, 'exchange_order_id', rec.order_id,
                'client_order_id', rec.client_order_id, 'status', rec.status),
                format('adopted exchange order %s (%s, %s): it had no row here; withdrawn (it is cancelled if still resting)',
                       rec.client_order_id, rec.ticker, rec.status));
        v_adopted := v_adopted + 1;
    end loop;

    -- 4. anything else resting there is not ours: raise it once
    with foreign_orders as (
        select l.* from pg_temp.listing l
         where l.status = 'resting' and coalesce(l.client_order_id, '') not like p_prefix || '%'
           and not exists (select 1 from ops.risk_events e where e.kind = 'foreign_order' and e.detail->>'order_id' = l.order_id))
    insert into ops.risk_events (at, kind, severity, detail, message)
    select p_as_of, 'foreign_order', 'critical',
           jsonb_build_object('order_id', f.order_id, 'client_order_id', f.client_order_id, 'ticker', f.ticker),
           format('resting order %s on %s is not Milkbot''s (client_order_id %s)', f.order_id, f.ticker, coalesce(f.client_order_id, 'none'))
      from foreign_orders f;
    get diagnostics v_raised = row_count;
    v_foreign := v_foreign + v_raised;

    perform set_config('milkbot.transition_reason', '', true);

    -- 5. both ways: our live orders against the exchange's state
    select jsonb_agg(jsonb_build_object('order_id', o.id, 'client_order_id', o.client_order_id, 'ours', o.state,
                                        'exchange', coalesce(l.status, 'not listed'), 'filled_ours', o.filled_count,
                                        'filled_exchange', l.fill_count))
      into v_mismatch
      from ops.orders o left join pg_temp.listing l on l.client_order_id = o.client_order_id
     where o.mode = p_mode and o.host <> 'paper'
       and ((o.state in ('RESTING', 'PARTIALLY_FILLED') and coalesce(l.status, '') <> 'resting')
            or (o.state = 'FILLED' and l.status is not null and l.status <> 'executed')
            or (l.status = 'resting' and o.state not in ('RESTING', 'PARTIALLY_FILLED', 'CANCEL_PENDING')));
    return jsonb_build_object('found', v_found, 'absent_reads', v_absent, 'presumed_absent', v_presumed,
                              'adopted', v_adopted, 'foreign', v_foreign,
                              'mismatches', coalesce(jsonb_array_length(v_mismatch), 0), 'mismatched', coalesce(v_mismatch, '[]'));
end
$$;
comment on function ops.apply_exchange_listing(timestamptz, ops.trading_mode, jsonb, text) is 'Executor: reconcile our orders with the exchange''s listing (adopt found and unknown-to-us orders, presume absence only after the grace period, raise foreign orders).';

-- A fill is linked to its order by the exchange order id it carries, when it is recorded or whenever
-- the order becomes known later: derived here, so the append-only ledger never needs rewriting.
create or replace view ops.fill_orders as
select f.fill_id, coalesce(f.order_id, o.id) as order_id, f.order_id is null and o.id is not null as linked_later
  from ops.fills f left join ops.orders o on o.exchange_order_id = f.exchange_order_id and f.order_id is null;
comment on view ops.fill_orders is 'Each fill''s order: stored at insert, or linked later by the exchange order id the fill carries.';

-- An order's filled count and state follow its fills (linked either way).
create or replace function ops.sync_fills_into_orders()
returns integer
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    rec record;
    n   integer := 0;
begin
    for rec in
        select o.id, o.state, o.count, s.filled from ops.orders o
          join (select fo.order_id, sum(f.count) as filled from ops.fill_orders fo join ops.fills f on f.fill_id = fo.fill_id
                 where fo.order_id is not null group by fo.order_id) s on s.order_id = o.id
         where s.filled > o.filled_count
           and o.state in ('RESTING', 'PARTIALLY_FILLED', 'CANCEL_PENDING', 'FILLED', 'CANCELED')
         order by o.id
         for update of o
    loop
        -- the state already says it (final, part filled and still part open, or a cancel in flight with some
        -- left): only the count moves. Otherwise a RESTING order part filled becomes PARTIALLY_FILLED and any
        -- order filled to its count becomes FILLED (a RESTING order fully filled must not stay RESTING: it
        -- would hold the market's one live-order slot for ever)
        if rec.state in ('FILLED', 'CANCELED')
           or (rec.state in ('PARTIALLY_FILLED', 'CANCEL_PENDING') and rec.filled < rec.count) then
            update ops.orders set filled_count = least(rec.filled, count) where id = rec.id;
        else
            perform set_config('milkbot.transition_reason', 'fills recorded', true);
            update ops.orders set state = case when rec.filled >= rec.count then 'FILLED' else 'PARTIALLY_FILLED' end::ops.order_state,
                                  filled_count = least(rec.filled, count)
             where id = rec.id;
        end if;
        n := n + 1;
    end loop;
    perform set_config('milkbot.transition_reason', '', true);
    return n;
end
$$;
comment on function ops.sync_fills_into_orders() is 'Executor: every order''s filled count and state follow its fills in the ledger (linked at insert or later).';

-- Where the next fills pull starts: the newest fill REST has returned for this book (ops.fill_cursor,
-- moved by ops.record_rest_fills), less the look-back (fills_lookback_s), so late-reported fills are
-- caught; null = from the beginning.
create or replace function ops.fills_since(p_mode ops.trading_mode)
returns timestamptz
language sql stable
begin atomic
    select c.rest_newest - make_interval(secs => ops.executor_param('fills_lookback_s'))
      from ops.fill_cursor c where c.mode = p_mode;
end;
comment on function ops.fills_since(ops.trading_mode) is 'Executor: the time the fills pull starts from (the newest fill REST has returned, less fills_lookback_s; null = from the beginning). Fills the feed recorded first do not move it.';

create or replace function ops.note_order_error(p_order_id bigint, p_error text)
returns void
language sql security definer
set search_path = pg_catalog, ops
begin atomic
    update ops.orders set last_error = left(p_error, 2000) where id = p_order_id;
end;
comment on function ops.note_order_error(bigint, text) is 'Executor: record the last exchange error of a request about an order (nothing else changes; the next pass retries).';

-- The public book follows the executor's mode unless an operator chose one (ops.public_book).
create or replace function ops.executor_started(p_mode ops.trading_mode)
returns ops.trading_mode
language sql security definer
set search_path = pg_catalog, ops
begin atomic
    update ops.public_book set mode = p_mode, set_by = 'executor', changed_at = now()
     where set_by <> 'operator' and (mode, set_by) is distinct from (p_mode, 'executor');
    select mode from ops.public_book;
end;
comment on function ops.executor_started(ops.trading_mode) is 'Executor start-up: publish its mode as the public book unless an operator chose one; returns the published mode.';
