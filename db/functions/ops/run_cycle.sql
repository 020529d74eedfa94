-- One trading cycle at decision time p_as_of: breakers -> signals -> sizing under every risk limit ->
-- intents (transactional outbox: ops.orders PENDING row + pgmq message in this same transaction) and
-- cancels. Python only calls `select ops.run_cycle(now())`. Never reads now(): replays are exact.
-- Running it twice at the same p_as_of creates nothing new (unique signals per as_of, unique intent
-- keys, at most one live intent per market).
-- p_events: decide only these event ladders (the reaction to a change in one, issue 25 §3); null: every
-- open market (the sweep). Everything else is the same: breakers, every limit computed across all events
-- (holdings and working orders of every event count), and only the named events' signals, orders and
-- cancels -- a live order elsewhere is left to its own event's cycle.
create or replace function ops.run_cycle(p_as_of timestamptz, p_events text[] default null)
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
    v_decreases  integer := 0;
    v_equity     numeric;
    v_unmapped   numeric;
    v_stale      text[];
    v_mode       ops.trading_mode := coalesce(nullif(current_setting('milkbot.mode', true), ''), 'paper')::ops.trading_mode;
    v_host       text := coalesce(nullif(current_setting('milkbot.host', true), ''), 'paper');
    rec          record;
    v_known      timestamptz;
    v_result     jsonb;
    v_msgs       jsonb[];
    v_rows       bigint;
    v_tif        text;
begin
    if p_as_of is null or not isfinite(p_as_of) then
        raise exception 'run_cycle needs a finite decision time' using errcode = 'invalid_parameter_value';
    end if;
    perform pg_advisory_xact_lock(7220431002);  -- one cycle at a time
    -- the database clock when this cycle reads its inputs: a replay reads the rows kept current in place
    -- (parameters, cities, exchange and market status) as they were at this moment (ops.replay_cycle)
    v_known := clock_timestamp();

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
    v_equity := ops.equity_at(p_as_of, v_mode);   -- this book's equity: Kelly sizes on it
    v_pnl := v_equity - ops.equity_at(ops.trading_day_start(p_as_of), v_mode);
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
    select count(*) into v_errors from ops.order_events e join ops.orders o on o.id = e.order_id
     where o.mode = v_mode and e.to_state in ('REJECTED', 'UNKNOWN')
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

    -- 2. Signals: every open market, every gate. The calibration first re-fits itself when a truth
    --    (a CLI final, a settled value) has become known since the last fit.
    --    A fit that fails is recorded and the cycle trades on the previous fit (never on no model).
    begin
        perform ops.refit_calibration_if_due(p_as_of);
    exception when others then
        insert into ops.health_events (at, component, level, message)
        values (p_as_of, 'cycle', 'warning', left('calibration re-fit failed, the previous fit stays in force: ' || sqlerrm, 2000));
    end;
    -- the working tables: kept for the session, empty (ops.cycle_tables); statistics only when a table's
    -- size class changed (ops.cycle_table_rows): without them the sizing joins go quadratic
    perform ops.cycle_tables();
    insert into cycle_eval select * from ops.evaluate_markets(p_as_of, v_known, p_events);
    get diagnostics v_rows = row_count;
    perform ops.cycle_table_rows('pg_temp.cycle_eval'::regclass, v_rows);

    -- 3. Sizing to a target position per market (README, "Target sizing"). Everything is per book
    --    (mode). Held = fills; working = every non-final order at its full remaining size, including
    --    orders being cancelled or decreased until the exchange confirms; any part of a working order may
    --    fill, so exposure counts each at its worst case. The one live order of a market is re-decided:
    --    kept, decreased or cancelled; it never grows. A new order is placed only where no live order is
    --    kept, for the best edge of each event ladder (which keeps the ladder arithmetic exact).
    insert into cycle_book
        (ticker, strategy, event_ticker, cluster, side, price, edge, all_pass, eval_reason, size_at_best,
         rank_in_event, kelly_fraction, cycle_window_min, dir, cost, fee1, held, working, same_side_working,
         live_id, live_state, live_side, live_remaining, live_asked, live_win, live_lose, live_lpc, live_kept)
    with prm as materialized (select p.strategy, p.kelly_fraction, p.cycle_window_min from ops.effective_params(v_known) p),
    held as (select h.ticker, h.yes_gross - h.no_gross as net from ops.ledger_holdings(p_as_of, v_mode) h),
    work as materialized (
        select w.*, o.state, o.decrease_to, o.filled_count
          from ops.working_orders(p_as_of, v_mode) w join ops.orders o on o.id = w.order_id),
    work_sum as (
        select w.ticker, sum(case w.side when 'bid' then w.remaining else -w.remaining end) as net,
               coalesce(sum(w.remaining) filter (where w.side = 'bid'), 0) as bid_rem,
               coalesce(sum(w.remaining) filter (where w.side = 'ask'), 0) as ask_rem
          from work w group by w.ticker),
    live as (select w.* from work w where w.is_live and w.state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN'))
    select e.ticker, e.strategy, e.event_ticker, e.cluster, e.side, e.price, e.edge, e.all_pass, e.reason as eval_reason,
           e.size_at_best,
           row_number() over (partition by e.event_ticker order by e.all_pass desc, e.edge desc nulls last, e.ticker) as rank_in_event,
           coalesce(prm.kelly_fraction, 0) as kelly_fraction, coalesce(prm.cycle_window_min, 5) as cycle_window_min,
           case e.side when 'bid' then 1 when 'ask' then -1 end as dir,
           case e.side when 'bid' then e.price else 1 - e.price end as cost,
           ops.fee_per_contract(e.price, e.fee_multiplier) as fee1,   -- the same fee as the edge's
           coalesce(h.net, 0) as held, coalesce(ws.net, 0) as working,
           coalesce(case e.side when 'bid' then ws.bid_rem when 'ask' then ws.ask_rem end, 0) as same_side_working,
           l.order_id as live_id, l.state as live_state, l.side as live_side, l.remaining as live_remaining,
           -- what the live order may still add: its remaining, or less where a decrease (a target total) is pending
           least(l.remaining, greatest(coalesce(l.decrease_to - l.filled_count, l.remaining), 0)) as live_asked,
           l.win_payoff as live_win, l.lose_payoff as live_lose, l.loss_per_contract as live_lpc,
           coalesce(l.order_id is not null and e.all_pass and l.side = e.side and l.price = e.price, false) as live_kept
      from cycle_eval e
      left join prm on prm.strategy = e.strategy
      left join held h on h.ticker = e.ticker
      left join work_sum ws on ws.ticker = e.ticker
      left join live l on l.ticker = e.ticker;
    get diagnostics v_rows = row_count;
    perform ops.cycle_table_rows('pg_temp.cycle_book'::regclass, v_rows);

    -- an unsent (PENDING) live order that is not kept is cancelled by this cycle before it can fill:
    -- it counts nowhere; a sent one counts in full until the exchange confirms its cancel. A per-event
    -- cycle reads its events and every event where the book holds or works anything (the rest add 0).
    insert into cycle_outcomes
        select * from ops.event_outcomes(p_as_of, v_mode, true,
                                         coalesce((select array_agg(b.live_id) from cycle_book b
                                                    where b.live_state = 'PENDING' and not b.live_kept), '{}'),
                                         p_events);
    get diagnostics v_rows = row_count;
    perform ops.cycle_table_rows('pg_temp.cycle_outcomes'::regclass, v_rows);
    v_unmapped := ops.unmapped_exposure(p_as_of, v_mode);

    -- A cluster or the total already beyond its limit (an operator tightened it, or marks moved): kept
    -- live orders there share what is left after fills and orders being cancelled, best edge first, each
    -- contract counted at its full possible loss (a bound, so the result is within the limit for sure).
    if exists (select 1 from (select o.cluster, greatest(0, -min(o.base_payoff)) as loss from cycle_outcomes o
                               group by o.event_ticker, o.cluster) x
                group by x.cluster having sum(x.loss) > v_lim.max_cluster)
       or (select coalesce(sum(greatest(0, -x.m)), 0) + v_unmapped
             from (select min(o.base_payoff) as m from cycle_outcomes o group by o.event_ticker) x) > v_lim.max_total then
        insert into cycle_shrink (ticker, keep_cap)
        with fixed as (
            select o.event_ticker, o.cluster, greatest(0, -min(o.base_payoff)) as loss
              from ops.event_outcomes(p_as_of, v_mode, true,
                                      coalesce((select array_agg(b.live_id) from cycle_book b
                                                 where b.live_kept or b.live_state = 'PENDING'), '{}'), p_events) o
             group by o.event_ticker, o.cluster),
        fixed_cluster as (select f.cluster, sum(f.loss) as loss from fixed f group by f.cluster),
        fixed_total as (select coalesce(sum(f.loss), 0) + v_unmapped as loss from fixed f),
        over as (select o.cluster, sum(o.loss) > v_lim.max_cluster as cluster_over
                   from (select oc.cluster, greatest(0, -min(oc.base_payoff)) as loss from cycle_outcomes oc
                          group by oc.event_ticker, oc.cluster) o group by o.cluster),
        kept as (
            select b.ticker, b.cluster, b.live_lpc, b.live_asked,
                   sum(b.live_asked * b.live_lpc) over (partition by b.cluster order by b.edge desc, b.ticker) - b.live_asked * b.live_lpc as before_cluster,
                   sum(b.live_asked * b.live_lpc) over (order by b.edge desc, b.ticker) - b.live_asked * b.live_lpc as before_total
              from cycle_book b where b.live_kept)
        select k.ticker,
               least(case when ov.cluster_over
                          then floor(greatest(0, v_lim.max_cluster - coalesce(fc.loss, 0) - k.before_cluster) / k.live_lpc) end,
                     case when (select coalesce(sum(greatest(0, -x.m)), 0) + v_unmapped
                                  from (select min(o.base_payoff) as m from cycle_outcomes o group by o.event_ticker) x) > v_lim.max_total
                          then floor(greatest(0, v_lim.max_total - ft.loss - k.before_total) / k.live_lpc) end)
          from kept k
          left join over ov on ov.cluster = k.cluster
          left join fixed_cluster fc on fc.cluster = k.cluster
          cross join fixed_total ft;
    end if;

    insert into cycle_decision
        (ticker, strategy, event_ticker, side, price, edge, all_pass, cycle_window_min, held, working,
         live_id, live_state, live_asked, target_contracts, size, live_action, live_keep, reduces_exposure,
         reason, trade, sizing)
    with exposure as (select o.event_ticker, o.cluster, greatest(0, -min(o.base_payoff)) as loss
                        from cycle_outcomes o group by o.event_ticker, o.cluster),
    cluster_exp as (select x.cluster, sum(x.loss) as loss from exposure x group by x.cluster),
    total_exp as (select coalesce(sum(x.loss), 0) + v_unmapped as loss from exposure x),
    cand as (select b.* from cycle_book b where b.all_pass),
    -- a Monthly threshold's place on its cumulative ladder: the total it needs to pass (half a bulletin
    -- step past its strike), so "t passed" means every threshold with eff <= t's passed too
    monthly_eff as (
        select m.ticker, case m.strike_type when 'greater' then m.floor_strike + pr.step_in / 2
                                            else m.floor_strike - pr.step_in / 2 end as eff
          from ops.markets m join ops.monthly_prior pr on pr.kind = m.kind
         where m.strike_type in ('greater', 'greater_or_equal')
           and m.event_ticker in (select b.event_ticker from cycle_book b where b.strategy = 'Monthly')),
    -- the model's probability of each outcome: a daily ladder's bracket (null outcome = none of the known
    -- brackets); a Monthly ladder's "highest threshold passed" (null = none), P(above t) - P(above next)
    outcome_ord as (
        select o.event_ticker, o.outcome_ticker, e.model_p, me.eff,
               bool_or(e.strategy = 'Monthly') over (partition by o.event_ticker) as monthly,
               lead(e.model_p) over (partition by o.event_ticker order by me.eff nulls first) as next_p,
               sum(e.model_p) over (partition by o.event_ticker) as sum_p
          from cycle_outcomes o
          left join cycle_eval e on e.ticker = o.outcome_ticker
          left join monthly_eff me on me.ticker = o.outcome_ticker),
    outcome_q as (
        select oo.event_ticker, coalesce(oo.outcome_ticker, '') as okey,   -- a plain key: hash-joinable
               oo.eff,
               case when oo.monthly
                    then greatest(0, coalesce(oo.model_p, case when oo.outcome_ticker is null then 1 end, 0) - coalesce(oo.next_p, 0))
                    when oo.outcome_ticker is null
                    then greatest(0, 1 - coalesce(oo.sum_p, 0))
                    else coalesce(oo.model_p, 0) end::float8 as q
          from outcome_ord oo),
    -- per outcome of the candidate's ladder: the base payoff (its own kept live order left out, since it
    -- is being re-decided), what one more contract pays there (r) and adds there at its worst (a)
    per_outcome as (
        select c.ticker, o.outcome_ticker, oq.q,
               o.base_payoff - case when not c.live_kept then 0 when w.wins then c.live_win else c.live_lose end as base,
               case when w.wins then case c.dir when 1 then 1 - c.price else -(1 - c.price) end
                    else case c.dir when 1 then -c.price else c.price end end - c.fee1 as r,
               least(0, case when w.wins then case c.dir when 1 then 1 - c.price else -(1 - c.price) end
                             else case c.dir when 1 then -c.price else c.price end end - c.fee1) as a
          from cand c join cycle_outcomes o on o.event_ticker = c.event_ticker
          left join outcome_q oq on oq.event_ticker = o.event_ticker and oq.okey = coalesce(o.outcome_ticker, '')
          left join monthly_eff ce on ce.ticker = c.ticker
          -- does the candidate win in this outcome: its own bracket (daily), or a threshold at or
          -- below the highest one passed (Monthly)
          cross join lateral (select case when c.strategy = 'Monthly' then coalesce(oq.eff >= ce.eff, false)
                                          else coalesce(o.outcome_ticker = c.ticker, false) end as wins) w),
    room as (
        select po.ticker, greatest(0, -min(po.base)) as loss0,
               -- most contracts keeping every outcome's payoff >= -limit (payoff is linear in k per outcome)
               min(case when po.a < 0 then floor(greatest(po.base + v_lim.max_event_loss, 0) / -po.a) end) as k_event,
               -- Kelly on the whole ladder (issue 23 §1.3): what one more position adds given every
               -- position the ladder already holds, not each bracket alone (a NO on one bracket and a
               -- YES on another win together, and per-bracket sizes would stack them)
               -- (only where it can matter: the event's best edge, or a live order being re-decided)
               case when bool_or(c.rank_in_event = 1 or c.live_kept) then
               ops.ladder_kelly(array_agg(coalesce(po.q, 0) order by po.outcome_ticker nulls first),
                                array_agg(po.base order by po.outcome_ticker nulls first),
                                array_agg(po.r order by po.outcome_ticker nulls first),
                                min(c.kelly_fraction) * greatest(v_equity, 0)) else 0 end as k_ladder_kelly
          from per_outcome po join cand c on c.ticker = po.ticker group by po.ticker),
    sized as (
        select c.*, r.loss0, r.k_event,
               coalesce(ce.loss, 0) as cluster_loss, t.loss as total_loss,
               cm.committed,
               -- Kelly as a target total for this market: what is committed here plus the ladder's increment
               -- (daily brackets and Monthly thresholds alike: each ladder's outcomes are exclusive)
               cm.committed + r.k_ladder_kelly as k_kelly,
               sh.keep_cap
          from cand c
          -- contracts on this side held or working, except the kept live order; orders on the other
          -- side are not netted (they may not fill)
          cross join lateral (
                select c.dir * c.held + c.same_side_working
                       - case when c.live_kept or (c.live_state = 'PENDING' and c.live_side = c.side) then c.live_remaining else 0 end
                       as committed) cm
          join room r on r.ticker = c.ticker
          cross join total_exp t
          left join cluster_exp ce on ce.cluster = c.cluster
          left join cycle_shrink sh on sh.ticker = c.ticker),
    targeted as (
        select s.*,
               case v_state when 'ACTIVE' then least(s.k_kelly, v_lim.max_contracts)
                            else 0 end as target_raw,   -- REDUCING: flat is the target; HALTED: nothing moves
               greatest(v_lim.max_contracts - s.committed, 0) as k_market,
               floor(s.size_at_best) as k_book
          from sized s),
    first_pass as (
        select t.*, greatest(t.target_raw - t.committed, 0) as desired,
               case when v_state = 'HALTED' then 0
                    when t.live_kept then least(t.live_asked, greatest(t.target_raw - t.committed, 0), t.k_market,
                                                coalesce(t.k_event, t.k_market), coalesce(t.keep_cap, t.live_asked))
                    when t.rank_in_event = 1 then least(greatest(t.target_raw - t.committed, 0), t.k_market,
                                                        coalesce(t.k_event, t.k_market), t.k_book)
                    else 0 end as k1
          from targeted t),
    incr as (
        select f.*, case when f.live_kept then 0 else greatest(0, w.worst) - f.loss0 end as incr1
          from first_pass f
          join (select f2.ticker, max(-(po.base + f2.k1 * po.a)) as worst
                  from first_pass f2 join per_outcome po on po.ticker = f2.ticker group by f2.ticker) w on w.ticker = f.ticker),
    left_over as (
        -- cluster and total room is shared by this cycle's new orders, best edge first: what is left of
        -- each for this one after the better edges before it
        select i.*,
               (v_lim.max_cluster - i.cluster_loss)
                 - (sum(i.incr1) over (partition by i.cluster order by i.edge desc, i.ticker) - i.incr1) as cluster_left,
               (v_lim.max_total - i.total_loss)
                 - (sum(i.incr1) over (order by i.edge desc, i.ticker) - i.incr1) as total_left
          from incr i),
    shared as (
        select l.*,
               case when l.live_kept then null else greatest(0, least(l.incr1, l.cluster_left, l.total_left)) end as allowed
          from left_over l),
    -- the contracts the cluster/total room allows, per market (a CTE of its own: as a subquery joined
    -- back, the planner's row guesses made it a nested loop over every pair of markets, ~75 ms at 2,400)
    room_left as materialized (
        select sh2.ticker,
               min(case when po.a < 0 then floor(greatest(po.base + sh2.loss0 + sh2.allowed, 0) / -po.a) end) as k_room
          from shared sh2 join per_outcome po on po.ticker = sh2.ticker group by sh2.ticker),
    capped as (
        select sh.*, rl.k_room,
               case when sh.live_kept then sh.k1 else least(sh.k1, coalesce(rl.k_room, sh.k1)) end as k_final
          from shared sh
          join room_left rl on rl.ticker = sh.ticker)
    select b.ticker, b.strategy, b.event_ticker, b.side, b.price, b.edge, b.all_pass, b.cycle_window_min,
           b.held, b.working, b.live_id, b.live_state, b.live_asked,
           coalesce(greatest(0, least(cp.target_raw, cp.committed + cp.k_final)), 0) as target_contracts,
           case when cp.live_kept then 0 else coalesce(cp.k_final, 0) end as size,
           case when b.live_id is null then null
                when not coalesce(cp.live_kept, false) or cp.k_final < 1 then 'cancel'
                when cp.k_final < b.live_asked then 'decrease'
                else 'keep' end as live_action,
           case when cp.live_kept then cp.k_final end as live_keep,
           (v_state = 'REDUCING' and coalesce(cp.k_final, 0) >= 1) as reduces_exposure,
           case
               when not b.all_pass then b.eval_reason
               when v_state = 'HALTED' then 'trading HALTED: no new orders'
               when cp.live_kept then format('live order %s kept at %s of %s: target %s, held %s, working %s (kelly %s, market cap %s, event cap %s%s)',
                                             b.live_id, cp.k_final, b.live_asked, greatest(0, least(cp.target_raw, cp.committed + cp.k_final)),
                                             b.held, b.working, cp.k_kelly, cp.k_market, coalesce(cp.k_event::text, 'n/a'),
                                             case when cp.keep_cap is not null then format(', cluster/total over limit: keep at most %s', cp.keep_cap) else '' end)
               when b.rank_in_event > 1 then 'another bracket of this event has the better edge this cycle'
               when v_state = 'REDUCING' and cp.k_final < 1 then 'trading REDUCING: order would not reduce exposure'
               when cp.k_final < 1 then format('no order: target %s, held %s, working %s (kelly %s of equity %s, market cap %s, event cap %s, cluster/total room %s, book %s)',
                                               greatest(0, least(cp.target_raw, cp.committed)), b.held, b.working, cp.k_kelly, round(v_equity, 2),
                                               cp.k_market, coalesce(cp.k_event::text, 'n/a'), round(cp.allowed, 2), cp.k_book)
               else format('order %s: target %s, held %s, working %s (kelly %s of equity %s, market cap %s, event cap %s, cluster/total room %s, book %s)',
                           cp.k_final, greatest(0, least(cp.target_raw, cp.committed + cp.k_final)), b.held, b.working, cp.k_kelly,
                           round(v_equity, 2), cp.k_market, coalesce(cp.k_event::text, 'n/a'), round(cp.allowed, 2), cp.k_book)
           end as reason,
           not coalesce(cp.live_kept, false) and coalesce(cp.k_final, 0) >= 1 as trade,
           -- what sized a new order, and which bound was the binding one (`milkbot explain` reads it):
           -- the first of cluster/total room, Kelly (or the per-market cap on the target), the market
           -- cap, the event's loss limit, the size on the book that is smaller than what came before it
           case when cp.ticker is not null and not cp.live_kept and cp.rank_in_event = 1 and v_state <> 'HALTED' then
           jsonb_build_object(
               'bound', case when cp.k_room is not null and cp.k_room < cp.k1
                             then case when cp.cluster_left <= cp.total_left then 'cluster' else 'total' end
                             when cp.k1 = cp.desired
                             then case when v_state = 'REDUCING' then 'reducing'
                                       when cp.k_kelly > v_lim.max_contracts then 'max_contracts' else 'kelly' end
                             when cp.k1 = cp.k_market then 'max_contracts'
                             when cp.k1 = cp.k_event then 'event'
                             when cp.k1 = cp.k_book then 'book' end,
               'size', cp.k_final, 'target', greatest(0, least(cp.target_raw, cp.committed + cp.k_final)),
               'committed', cp.committed, 'kelly', cp.k_kelly, 'kelly_fraction', cp.kelly_fraction,
               'equity', round(v_equity, 2), 'max_contracts', v_lim.max_contracts,
               'event_contracts', cp.k_event, 'max_event_loss', v_lim.max_event_loss, 'book', cp.k_book,
               'cluster', cp.cluster, 'cluster_loss', round(cp.cluster_loss, 2), 'max_cluster', v_lim.max_cluster,
               'cluster_left', round(cp.cluster_left, 2), 'total_loss', round(cp.total_loss, 2),
               'max_total', v_lim.max_total, 'total_left', round(cp.total_left, 2), 'room_contracts', cp.k_room)
           end as sizing
      from cycle_book b left join capped cp on cp.ticker = b.ticker;

    -- 4. Record every evaluation (a replay at the same as_of records nothing twice).
    insert into ops.signals (as_of, ticker, strategy, model_p, yes_bid, yes_ask, side, price, edge, gates, decision, size, reason,
                             target_contracts, held, working, equity, live_order_action, sizing)
    select p_as_of, e.ticker, e.strategy, e.model_p, e.yes_bid, e.yes_ask,
           case when d.trade then d.side end, case when d.trade then d.price end, e.edge, e.gates,
           case when d.trade then 'trade' else 'skip' end, case when d.trade then d.size end, d.reason,
           d.target_contracts, d.held, d.working, round(v_equity, 4), d.live_action, d.sizing
      from cycle_eval e join cycle_decision d on d.ticker = e.ticker
    on conflict (as_of, ticker, strategy) do nothing;
    get diagnostics v_signals = row_count;

    -- 5. Live orders the target no longer wants (other side or price, no trade at all — HALTED, near
    --    close, stale data — or limits that no longer allow them): unsent PENDING intents are cancelled or
    --    cut here; sent ones get one cancel or decrease request through the queue. Set-based: a HALT that
    --    cancels every resting order is one statement per kind of change, not a round per order.
    insert into cycle_retire (id, state, client_order_id, filled_count, retarget, action, live_keep)
        select o.id, o.state, o.client_order_id, o.filled_count, coalesce(d.trade, false) as retarget,
               coalesce(d.live_action, 'cancel') as action, d.live_keep
          from ops.orders o
          left join cycle_decision d on d.ticker = o.ticker
         where o.mode = v_mode and o.superseded_by is null and o.cancel_requested_at is null
           and o.state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN')
           and (d.ticker is null or d.live_action in ('cancel', 'decrease'))
           -- a per-event cycle re-decides its own events' orders only
           and (p_events is null or exists (select 1 from ops.markets mk where mk.ticker = o.ticker and mk.event_ticker = any (p_events)))
         -- locked as read, in id order (as every path that locks several orders does: no deadlock); a row
         -- the executor moved meanwhile is read again as it is now
         order by o.id
           for update of o;

    -- unsent: cancelled here, the reason on each order's event (the state trigger logs it)
    perform set_config('milkbot.transition_reason', 'superseded by a new target', true);
    update ops.orders set state = 'CANCELED'
     where id in (select r.id from cycle_retire r where r.action = 'cancel' and r.state = 'PENDING' and r.retarget);
    perform set_config('milkbot.transition_reason', 'no longer a target (gates, risk or trading state)', true);
    update ops.orders set state = 'CANCELED'
     where id in (select r.id from cycle_retire r where r.action = 'cancel' and r.state = 'PENDING' and not r.retarget);
    -- sent: one cancel request each, queued in one batch
    with asked as (
        update ops.orders o set cancel_requested_at = p_as_of
          from cycle_retire r
         where r.id = o.id and r.action = 'cancel' and r.state <> 'PENDING'
        returning o.id, o.client_order_id)
    select array_agg(jsonb_build_object('action', 'cancel', 'order_id', a.id, 'client_order_id', a.client_order_id) order by a.id)
      into v_msgs from asked a;
    if v_msgs is not null then
        perform pgmq.send_batch('order_intents', v_msgs);
    end if;
    select count(*) filter (where r.action = 'cancel') into v_cancels from cycle_retire r;
    -- decreases keep live_keep more beyond what is filled now: a target total, so fills that land before
    -- the exchange processes the decrease count toward it (ops.request_decrease, ops.decreases_to_send)
    for rec in select r.* from cycle_retire r where r.action = 'decrease' order by r.id loop
        perform ops.request_decrease(rec.id, rec.live_keep, p_as_of);
        if rec.state <> 'PENDING' then
            perform pgmq.send('order_intents', jsonb_build_object('action', 'decrease', 'order_id', rec.id,
                                                                  'client_order_id', rec.client_order_id,
                                                                  'target_total', rec.filled_count + rec.live_keep));
        end if;
        v_decreases := v_decreases + 1;
    end loop;
    perform set_config('milkbot.transition_reason', '', true);

    -- 6. Intents for every new order (transactional outbox). A replacement is sized as if the order it
    --    replaces fills (it counts as working until the exchange confirms the cancel).
    -- the cycle prices at the touch, so its orders take liquidity: immediate-or-cancel, unless an
    -- operator chose resting (maker) orders; either way pulled by the exchange when trading pauses
    v_tif := case when ops.executor_param('resting_orders') = 1 then 'good_till_canceled' else 'immediate_or_cancel' end;
    -- set-based, like the cancels: one insert and one queue batch (a round per intent cost ~0.4 ms each,
    -- pgmq.send building its statement anew every time); ids, and so messages, in order of edge
    with cand as materialized (
        select d.ticker, d.strategy, d.side, d.price, d.size, d.reduces_exposure, d.edge, s.id as signal_id,
               format('%s|%s|%s|%s|%s', d.ticker, d.side, d.price, d.size,
                      date_bin(make_interval(mins => d.cycle_window_min::int), p_as_of, timestamptz '2000-01-01')) as intent_key,
               (select o.id from ops.orders o
                 where o.mode = v_mode and o.ticker = d.ticker and o.superseded_by is null and o.cancel_requested_at is not null
                   and o.state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN', 'CANCEL_PENDING')
                 order by o.id desc limit 1) as replaces
          from cycle_decision d
          left join ops.signals s on s.as_of = p_as_of and s.ticker = d.ticker and s.strategy = d.strategy
         where d.trade
           and not exists (select 1 from ops.orders o
                            where o.mode = v_mode and o.ticker = d.ticker and o.superseded_by is null and o.cancel_requested_at is null
                              and o.state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN'))),
    ins as (
        insert into ops.orders (intent_key, client_order_id, ticker, strategy, side, price, count, mode, host,
                                reduces_exposure, supersedes, signal_id, as_of, time_in_force, cancel_on_pause)
        select c.intent_key, 'mb-' || substr(md5(c.intent_key), 1, 28), c.ticker, c.strategy, c.side, c.price, c.size,
               v_mode, v_host, c.reduces_exposure, c.replaces, c.signal_id, p_as_of, v_tif, true
          from cand c order by c.edge desc, c.ticker
        on conflict (intent_key) do nothing
        returning id, client_order_id, supersedes),
    -- the order a new one replaces (counted as working until its cancel is confirmed) points to it
    sup as (update ops.orders o set superseded_by = i.id from ins i where o.id = i.supersedes)
    select array_agg(jsonb_build_object('action', 'submit', 'order_id', i.id, 'client_order_id', i.client_order_id) order by i.id),
           count(*)
      into v_msgs, v_intents
      from ins i;
    if v_msgs is not null then
        perform pgmq.send_batch('order_intents', v_msgs);
    end if;

    -- 7. Stale inputs create no intents (the gate saw to that) and raise a health event.
    select array_agg(distinct e.city_code order by e.city_code) into v_stale
      from cycle_eval e where not (e.gates->'staleness'->>'pass')::boolean and e.strategy <> 'Monthly';
    if v_stale is not null then
        insert into ops.health_events (at, component, level, message)
        values (p_as_of, 'cycle', 'warning', format('stale or missing weather/quotes for %s: no intents there', array_to_string(v_stale, ', ')));
    end if;
    perform ops.heartbeat('cycle', true, format('as_of %s: %s signals, %s intents, %s cancels, %s decreases, state %s',
                                                p_as_of, v_signals, v_intents, v_cancels, v_decreases, v_state));

    v_result := jsonb_build_object('as_of', p_as_of, 'state', v_state, 'markets', (select count(*) from cycle_eval),
                                   'events', to_jsonb(p_events),
                                   'signals', v_signals, 'intents', v_intents, 'cancels', v_cancels, 'decreases', v_decreases,
                                   'equity', round(v_equity, 4),
                                   'pnl_today', round(v_pnl, 4), 'stale_cities', to_jsonb(coalesce(v_stale, '{}')));
    -- the undo log keeps 30 days: a cycle older than that is not replayed exactly (ops.replay_cycle says so)
    delete from ops.row_undo where at < v_known - interval '31 days';
    -- the first run at an as_of is the one its signals record (a second records nothing)
    insert into ops.cycles (as_of, known_at, mode, result) values (p_as_of, v_known, v_mode, v_result)
    on conflict (as_of) do nothing;
    return v_result;
end
$$;
comment on function ops.run_cycle(timestamptz, text[]) is 'The trading cycle: breakers, signals, sizing under every limit, intents and cancels (outbox) at decision time p_as_of, for every open market or only the events named.';
