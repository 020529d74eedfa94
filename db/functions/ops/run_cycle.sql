-- One trading cycle at decision time p_as_of: breakers -> signals -> sizing under every risk limit ->
-- intents (transactional outbox: ops.orders PENDING row + pgmq message in this same transaction) and
-- cancels. Python only calls `select ops.run_cycle(now())`. Never reads now(): replays are exact.
-- Running it twice at the same p_as_of creates nothing new (unique signals per as_of, unique intent
-- keys, at most one live intent per market).
create or replace function ops.run_cycle(p_as_of timestamptz)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    v_state      ops.trading_state_kind;
    v_lim        record;
    v_pnl        numeric;
    v_errors     integer;
    v_signals    integer;
    v_intents    integer := 0;
    v_cancels    integer := 0;
    v_stale      text[];
    v_mode       ops.trading_mode := coalesce(nullif(current_setting('milkbot.mode', true), ''), 'paper')::ops.trading_mode;
    v_host       text := coalesce(nullif(current_setting('milkbot.host', true), ''), 'paper');
    rec          record;
    v_new_id     bigint;
begin
    if p_as_of is null or not isfinite(p_as_of) then
        raise exception 'run_cycle needs a finite decision time' using errcode = 'invalid_parameter_value';
    end if;
    perform pg_advisory_xact_lock(7220431002);  -- one cycle at a time

    select max(value) filter (where name = 'bankroll')                 as bankroll,
           max(value) filter (where name = 'max_contracts_per_market') as max_contracts,
           max(value) filter (where name = 'max_event_loss')           as max_event_loss,
           max(value) filter (where name = 'max_cluster_exposure')     as max_cluster,
           max(value) filter (where name = 'max_total_exposure')       as max_total,
           max(value) filter (where name = 'daily_loss_limit')         as daily_loss_limit,
           max(value) filter (where name = 'error_rate_max')           as error_rate_max,
           max(value) filter (where name = 'error_rate_window_min')    as error_window
      into v_lim from ops.risk_limits;
    select state into v_state from ops.trading_state for update;

    -- 1. Breakers. The cycle may only tighten the state; an operator alone clears a HALT.
    v_pnl := ops.equity_at(p_as_of) - ops.equity_at(ops.trading_day_start(p_as_of));
    if v_pnl < -v_lim.daily_loss_limit and v_state <> 'HALTED' then
        update ops.trading_state
           set state = 'HALTED', changed_at = p_as_of, changed_by = 'ops.run_cycle',
               reason = format('daily loss breaker: P&L today %s < -%s', round(v_pnl, 2), v_lim.daily_loss_limit);
        insert into ops.risk_events (at, kind, severity, detail, message)
        values (p_as_of, 'daily_loss_breaker', 'critical',
                jsonb_build_object('pnl_today', v_pnl, 'limit', v_lim.daily_loss_limit),
                format('trading HALTED: P&L today %s beyond the daily loss limit %s', round(v_pnl, 2), v_lim.daily_loss_limit));
        v_state := 'HALTED';
    end if;
    select count(*) into v_errors from ops.order_events e
     where e.to_state in ('REJECTED', 'UNKNOWN')
       and e.at > p_as_of - make_interval(mins => v_lim.error_window::int) and e.at <= p_as_of;
    if v_errors >= v_lim.error_rate_max and v_state = 'ACTIVE' then
        update ops.trading_state
           set state = 'REDUCING', changed_at = p_as_of, changed_by = 'ops.run_cycle',
               reason = format('error-rate breaker: %s rejects/unknowns in %s min', v_errors, v_lim.error_window);
        insert into ops.risk_events (at, kind, severity, detail, message)
        values (p_as_of, 'error_rate_breaker', 'warning',
                jsonb_build_object('errors', v_errors, 'max', v_lim.error_rate_max, 'window_min', v_lim.error_window),
                format('trading REDUCING: %s rejects or unknown outcomes within %s minutes', v_errors, v_lim.error_window));
        v_state := 'REDUCING';
    end if;

    -- 2. Signals: every open market, every gate.
    if to_regclass('pg_temp.cycle_eval') is not null then drop table pg_temp.cycle_eval; end if;
    create temp table cycle_eval on commit drop as select * from ops.evaluate_markets(p_as_of);
    analyze cycle_eval;   -- a fresh temp table has no statistics: without them the sizing joins go quadratic

    -- 3. Sizing: fractional Kelly, then every cap. One new order per event ladder per cycle (its best
    --    edge), which keeps the ladder's worst-case arithmetic exact.
    if to_regclass('pg_temp.cycle_decision') is not null then drop table pg_temp.cycle_decision; end if;
    create temp table cycle_decision on commit drop as
    with prm as (select p.strategy, p.kelly_fraction, p.cycle_window_min from ops.effective_params() p),
    pos as (select h.ticker, h.yes_gross, h.no_gross from ops.holdings_at(p_as_of, false) h),
    -- Live intents are re-decided by this very cycle, so sizing starts from fills plus orders that are
    -- being cancelled (they may still fill); re-running with the same inputs gives the same targets.
    open_qty as (
        select o.ticker, sum(o.count - o.filled_count) as qty from ops.orders o
         where o.state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN', 'CANCEL_PENDING')
           and (o.superseded_by is not null or o.cancel_requested_at is not null or o.state = 'CANCEL_PENDING')
         group by o.ticker),
    ranked as (
        select e.*, row_number() over (partition by e.event_ticker order by e.edge desc nulls last, e.ticker) as rank_in_event
          from cycle_eval e where e.all_pass),
    cand as (
        select r.*, prm.kelly_fraction, prm.cycle_window_min,
               case r.side when 'bid' then r.price else 1 - r.price end as cost,
               coalesce(p.yes_gross, 0) - coalesce(p.no_gross, 0) as net_pos,
               coalesce(oq.qty, 0) as open_qty
          from ranked r
          join prm on prm.strategy = r.strategy
          left join pos p on p.ticker = r.ticker
          left join open_qty oq on oq.ticker = r.ticker
         where r.rank_in_event = 1),
    outcomes as materialized (select * from ops.event_outcomes(p_as_of, true, false)),
    exposure as (select o.event_ticker, o.cluster, greatest(0, -min(o.base_payoff)) as worst_case_loss
                   from outcomes o group by o.event_ticker, o.cluster),
    cluster_exp as (select x.cluster, sum(x.worst_case_loss) as loss from exposure x group by x.cluster),
    per_outcome as (
        select c.ticker, o.base_payoff,
               (case when c.side = 'bid' then (o.outcome_ticker is not distinct from c.ticker)::int
                     else (o.outcome_ticker is distinct from c.ticker)::int end)
               - c.cost - ops.taker_fee(c.price, 1, c.fee_multiplier) as a
          from cand c join outcomes o on o.event_ticker = c.event_ticker),
    event_room as (
        select c.ticker,
               greatest(0, -min(po.base_payoff)) as loss0,
               -- most contracts keeping every outcome's payoff >= -limit (payoff is linear in k per outcome)
               min(case when po.a < 0 then floor(greatest(po.base_payoff + v_lim.max_event_loss, 0) / -po.a) end) as k_event
          from cand c join per_outcome po on po.ticker = c.ticker group by c.ticker),
    sized as (
        select c.*, er.loss0, er.k_event,
               coalesce((select ce.loss from cluster_exp ce where ce.cluster = c.cluster), 0) as cluster_loss,
               (select coalesce(sum(x.worst_case_loss), 0) from exposure x) as total_loss,
               greatest(floor(c.edge / (1 - c.cost) * c.kelly_fraction * v_lim.bankroll / c.cost), 0) as k_kelly,
               greatest(v_lim.max_contracts - abs(c.net_pos) - c.open_qty, 0) as k_market,
               floor(c.size_at_best) as k_book
          from cand c join event_room er on er.ticker = c.ticker),
    first_pass as (
        select s.*, least(s.k_kelly, s.k_market, coalesce(s.k_event, s.k_market), s.k_book) as k1
          from sized s),
    incr as (
        select f.*, greatest(0, w.worst) - f.loss0 as incr1
          from first_pass f
          join (select f2.ticker, max(-(po.base_payoff + f2.k1 * po.a)) as worst
                  from first_pass f2 join per_outcome po on po.ticker = f2.ticker group by f2.ticker) w on w.ticker = f.ticker),
    shared as (
        -- cluster and total caps are shared by this cycle's candidates: best edge first
        select i.*,
               greatest(0, least(i.incr1,
                   (v_lim.max_cluster - i.cluster_loss)
                     - (sum(i.incr1) over (partition by i.cluster order by i.edge desc, i.ticker) - i.incr1),
                   (v_lim.max_total - i.total_loss)
                     - (sum(i.incr1) over (order by i.edge desc, i.ticker) - i.incr1))) as allowed
          from incr i),
    capped as (
        select sh.*, least(sh.k1, coalesce(room.k_room, sh.k1)) as k2
          from shared sh
          join (select sh2.ticker,
                       min(case when po.a < 0 then floor(greatest(po.base_payoff + sh2.loss0 + sh2.allowed, 0) / -po.a) end) as k_room
                  from shared sh2 join per_outcome po on po.ticker = sh2.ticker group by sh2.ticker) room on room.ticker = sh.ticker),
    ruled as (
        select cp.*,
               case
                   when v_state = 'HALTED' then 0
                   when v_state = 'REDUCING' then
                        case when (cp.side = 'bid' and cp.net_pos < 0) or (cp.side = 'ask' and cp.net_pos > 0)
                             then least(cp.k2, abs(cp.net_pos)) else 0 end
                   else cp.k2
               end as k_final
          from capped cp)
    select e.ticker, e.strategy, e.event_ticker, e.side, e.price, e.edge, e.all_pass,
           coalesce(rl.k_final, 0) as size,
           (v_state = 'REDUCING' and rl.k_final > 0) as reduces_exposure,
           coalesce(rl.cycle_window_min, 5) as cycle_window_min,
           case
               when not e.all_pass then e.reason
               when rl.ticker is null then 'another bracket of this event has the better edge this cycle'
               when v_state = 'HALTED' then 'trading HALTED: no new orders'
               when v_state = 'REDUCING' and rl.k_final = 0 then 'trading REDUCING: order would not reduce exposure'
               when rl.k_final < 1 then format('no size left: kelly %s, market cap %s, event cap %s, cluster/total room %s, book %s',
                                               rl.k_kelly, rl.k_market, coalesce(rl.k_event::text, 'n/a'), round(rl.allowed, 2), rl.k_book)
               else format('trade %s: kelly %s, market cap %s, event cap %s, cluster/total room %s, book %s',
                           rl.k_final, rl.k_kelly, rl.k_market, coalesce(rl.k_event::text, 'n/a'), round(rl.allowed, 2), rl.k_book)
           end as reason,
           rl.k_final >= 1 as trade
      from cycle_eval e left join ruled rl on rl.ticker = e.ticker;

    -- 4. Record every evaluation (a replay at the same as_of records nothing twice).
    insert into ops.signals (as_of, ticker, strategy, model_p, yes_bid, yes_ask, side, price, edge, gates, decision, size, reason)
    select p_as_of, e.ticker, e.strategy, e.model_p, e.yes_bid, e.yes_ask,
           case when d.trade then d.side end, case when d.trade then d.price end, e.edge, e.gates,
           case when d.trade then 'trade' else 'skip' end, case when d.trade then d.size end, d.reason
      from cycle_eval e join cycle_decision d on d.ticker = e.ticker
    on conflict (as_of, ticker, strategy) do nothing;
    get diagnostics v_signals = row_count;

    -- 5. Cancels: a live intent whose market no longer has the same target (other side/price, or no
    --    trade at all, e.g. HALTED, near close, stale data). Unsent PENDING intents are cancelled here;
    --    sent ones get one cancel request through the queue.
    for rec in
        select o.id, o.state, o.client_order_id, d.trade as retarget
          from ops.orders o
          left join cycle_decision d on d.ticker = o.ticker
         where o.superseded_by is null and o.cancel_requested_at is null
           and o.state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN')
           and (d.ticker is null or not d.trade or d.side <> o.side or d.price <> o.price)
         order by o.id
         for update of o
    loop
        if rec.state = 'PENDING' then
            perform set_config('milkbot.transition_reason',
                               case when rec.retarget then 'superseded by a new target' else 'no longer a target (gates, risk or trading state)' end, true);
            update ops.orders set state = 'CANCELED' where id = rec.id;
        else
            update ops.orders set cancel_requested_at = p_as_of where id = rec.id;
            perform pgmq.send('order_intents', jsonb_build_object('action', 'cancel', 'order_id', rec.id, 'client_order_id', rec.client_order_id));
        end if;
        v_cancels := v_cancels + 1;
    end loop;
    perform set_config('milkbot.transition_reason', '', true);

    -- 6. Intents for every trade decision without an identical live order (transactional outbox).
    for rec in
        select d.*, s.id as signal_id,
               format('%s|%s|%s|%s|%s', d.ticker, d.side, d.price, d.size,
                      date_bin(make_interval(mins => d.cycle_window_min::int), p_as_of, timestamptz '2000-01-01')) as intent_key,
               (select o.id from ops.orders o
                 where o.ticker = d.ticker and o.superseded_by is null and o.cancel_requested_at is not null
                   and o.state not in ('CANCELED', 'FILLED', 'REJECTED', 'EXPIRED')
                 order by o.id desc limit 1) as replaces
          from cycle_decision d
          left join ops.signals s on s.as_of = p_as_of and s.ticker = d.ticker and s.strategy = d.strategy
         where d.trade
           and not exists (select 1 from ops.orders o
                            where o.ticker = d.ticker and o.superseded_by is null and o.cancel_requested_at is null
                              and o.state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN'))
         order by d.edge desc
    loop
        insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host,
                                reduces_exposure, supersedes, signal_id, as_of)
        values (rec.intent_key, 'mb-' || substr(md5(rec.intent_key), 1, 28), rec.ticker, rec.strategy, rec.side, rec.price, rec.size,
                v_mode, v_host, rec.reduces_exposure, rec.replaces, rec.signal_id, p_as_of)
        on conflict (intent_key) do nothing
        returning id into v_new_id;
        if v_new_id is not null then
            if rec.replaces is not null then
                update ops.orders set superseded_by = v_new_id where id = rec.replaces;
            end if;
            perform pgmq.send('order_intents', jsonb_build_object('action', 'submit', 'order_id', v_new_id,
                                                                  'client_order_id', 'mb-' || substr(md5(rec.intent_key), 1, 28)));
            v_intents := v_intents + 1;
        end if;
    end loop;

    -- 7. Stale inputs create no intents (the gate saw to that) and raise a health event.
    select array_agg(distinct e.city_code order by e.city_code) into v_stale
      from cycle_eval e where not (e.gates->'staleness'->>'pass')::boolean and e.strategy <> 'Monthly';
    if v_stale is not null then
        insert into ops.health_events (at, component, level, message)
        values (p_as_of, 'cycle', 'warning', format('stale or missing weather/quotes for %s: no intents there', array_to_string(v_stale, ', ')));
    end if;
    perform ops.heartbeat('cycle', true, format('as_of %s: %s signals, %s intents, %s cancels, state %s',
                                                p_as_of, v_signals, v_intents, v_cancels, v_state));

    return jsonb_build_object('as_of', p_as_of, 'state', v_state, 'markets', (select count(*) from cycle_eval),
                              'signals', v_signals, 'intents', v_intents, 'cancels', v_cancels,
                              'pnl_today', round(v_pnl, 4), 'stale_cities', to_jsonb(coalesce(v_stale, '{}')));
end
$$;
comment on function ops.run_cycle(timestamptz) is 'The trading cycle: breakers, signals, sizing under every limit, intents and cancels (outbox) at decision time p_as_of.';
