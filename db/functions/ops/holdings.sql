-- What we hold and what we could come to hold, per book (mode). Paper, demo and live never mix.
--
-- Held: the append-only fill ledger. Gross YES and NO contracts are kept apart: a YES+NO pair pays
-- exactly $1, so payoff(outcome) = YES contracts if the market wins, NO contracts if it loses, minus the
-- cash spent — exact without any netting rules.
create or replace function ops.ledger_holdings(p_as_of timestamptz, p_mode ops.trading_mode)
returns table (ticker text, yes_gross numeric, no_gross numeric, cash_spent numeric, fees numeric)
language sql stable parallel safe
begin atomic
    select f.ticker,
           sum(case f.side when 'bid' then f.count else 0 end),
           sum(case f.side when 'ask' then f.count else 0 end),
           sum(case f.side when 'bid' then f.yes_price else 1 - f.yes_price end * f.count + f.fee),
           sum(f.fee)
      from ops.fills f
     where f.mode = p_mode and f.created_time <= p_as_of
     group by f.ticker;
end;
comment on function ops.ledger_holdings(timestamptz, ops.trading_mode) is 'Per market, from the fill ledger of one mode up to p_as_of: gross YES and NO contracts, cash spent incl. fees, fees.';

-- Working: every order that is not final, at its full remaining size — including orders being cancelled
-- or decreased, until the exchange confirms, and orders presumed absent. Any part of a working order may fill, so its worst case in
-- an outcome is min(0, what all of it would pay there): it can only add loss, never hedge. Fees are
-- bounded per contract (the fee is rounded up per fill, so partial fills can cost more than one fill).
create or replace function ops.working_orders(p_as_of timestamptz, p_mode ops.trading_mode)
returns table (order_id bigint, ticker text, side text, price numeric, remaining numeric, is_live boolean,
               win_payoff numeric, lose_payoff numeric, loss_per_contract numeric)
language sql stable parallel safe
begin atomic
    select o.id, o.ticker, o.side, o.price, o.count - o.filled_count,
           o.superseded_by is null and o.cancel_requested_at is null and o.state not in ('CANCEL_PENDING', 'ABSENT_PRESUMED'),
           (o.count - o.filled_count) * least(0, case o.side when 'bid' then 1 - o.price else -(1 - o.price) end - x.fee1),
           (o.count - o.filled_count) * least(0, case o.side when 'bid' then -o.price else o.price end - x.fee1),
           case o.side when 'bid' then o.price else 1 - o.price end + x.fee1
      from ops.orders o
      left join ops.markets m on m.ticker = o.ticker
      cross join lateral (select ops.fee_per_contract(o.price, m.fee_multiplier) as fee1) x
     where o.mode = p_mode and o.as_of <= p_as_of and o.count > o.filled_count
       -- ABSENT_PRESUMED: not found in the grace period, but it may yet appear (it is adopted if it does),
       -- so it counts at its worst case until its market settles; it no longer blocks the market
       and o.state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN', 'CANCEL_PENDING', 'ABSENT_PRESUMED');
end;
comment on function ops.working_orders(timestamptz, ops.trading_mode) is 'Every non-final order of one mode at its full remaining size, with its worst-case payoff if its market wins / loses (any part may fill).';

-- Each daily-ladder market's payoff if it wins and if it loses: fills exactly, working orders at their
-- worst case, except the orders in p_exclude (the ones a cycle is re-deciding).
-- p_events: the markets of these events and of every event where this book holds or works anything (an
-- event with neither pays 0 in every outcome: it adds nothing to any limit); null: every unsettled market.
create or replace function ops.market_payoffs(p_as_of timestamptz, p_mode ops.trading_mode,
                                              p_include_working boolean, p_exclude bigint[], p_events text[])
returns table (ticker text, event_ticker text, cluster ops.city_cluster, lo numeric, hi numeric,
               win_payoff numeric, lose_payoff numeric)
language sql stable parallel safe
begin atomic
    with held as (select * from ops.ledger_holdings(p_as_of, p_mode)),
    all_working as materialized (select * from ops.working_orders(p_as_of, p_mode)),
    working as (
        select w.ticker, sum(w.win_payoff) as win_payoff, sum(w.lose_payoff) as lose_payoff
          from all_working w
         where p_include_working and w.order_id <> all (p_exclude)
         group by w.ticker),
    -- the events that can carry exposure (whether or not this call counts working orders)
    touched as (
        select mk.event_ticker from ops.markets mk
         where p_events is not null
           and mk.ticker in (select h2.ticker from held h2 union all select w2.ticker from all_working w2))
    select m.ticker, m.event_ticker, c.cluster,
           ops.yes_lo(m.strike_type, m.floor_strike, m.cap_strike), ops.yes_hi(m.strike_type, m.floor_strike, m.cap_strike),
           coalesce(h.yes_gross, 0) - coalesce(h.cash_spent, 0) + coalesce(w.win_payoff, 0),
           coalesce(h.no_gross, 0) - coalesce(h.cash_spent, 0) + coalesce(w.lose_payoff, 0)
      from ops.markets m
      join ops.cities c on c.code = m.city_code
      left join held h on h.ticker = m.ticker
      left join working w on w.ticker = m.ticker
     where m.status <> 'finalized'
       and (p_events is null or m.event_ticker = any (p_events) or m.event_ticker in (select t.event_ticker from touched t));
end;
comment on function ops.market_payoffs(timestamptz, ops.trading_mode, boolean, bigint[], text[]) is 'Per unsettled market (daily and Monthly) of the events named and of every event this book holds or works in (null: all): payoff if it wins / loses (fills exact, working orders at their worst case, p_exclude left out).';

create or replace function ops.market_payoffs(p_as_of timestamptz, p_mode ops.trading_mode,
                                              p_include_working boolean default true, p_exclude bigint[] default '{}')
returns table (ticker text, event_ticker text, cluster ops.city_cluster, lo numeric, hi numeric,
               win_payoff numeric, lose_payoff numeric)
language sql stable parallel safe
begin atomic
    select * from ops.market_payoffs(p_as_of, p_mode, p_include_working, p_exclude, null::text[]);
end;
comment on function ops.market_payoffs(timestamptz, ops.trading_mode, boolean, bigint[]) is 'Per unsettled market (daily and Monthly): payoff if it wins / loses (fills exact, working orders at their worst case, p_exclude left out).';

-- Payoff of every event ladder under each of its outcomes. Only one bracket of a city-day can win, so
-- the worst case is the minimum over outcomes — not the sum of per-market losses. With L the sum of
-- every market's losing payoff, outcome "m wins" pays L - lose(m) + win(m). When the ladder's known
-- markets do not cover every integer (a gap, a missing tail, or a shape without bounds), "none of them"
-- (paying L) is an outcome.
-- A Monthly event is a cumulative ladder ("above X inches" thresholds): its outcomes are "the highest
-- threshold passed is t" (every threshold at or below t wins, the rest lose) and "none passed", so its
-- worst case is exact like a daily ladder's. A Monthly event with any other shape is counted by one
-- outcome that pays the sum of each market's worse side: a bound. Either way Monthly exposure sits
-- inside every event/cluster/total limit.
-- p_events: these events and every event this book holds or works in (the rest pay 0 in every outcome:
-- a per-event cycle's limits need no more); null: every unsettled event.
-- PL/pgSQL rather than a SQL body: its plan is cached for the session (a SQL function's query, with
-- market_payoffs, the ledger and the working orders inlined into it, was planned again at every call:
-- ~4 ms of every cycle, more than running it).
create or replace function ops.event_outcomes(p_as_of timestamptz, p_mode ops.trading_mode,
                                              p_include_working boolean, p_exclude bigint[], p_events text[])
returns table (event_ticker text, cluster ops.city_cluster, outcome_ticker text, base_payoff numeric)
language plpgsql stable parallel safe
set search_path = pg_catalog, ops
as $fn$
#variable_conflict use_column
begin
    return query
    with all_markets as (
        select p.*, m.kind in ('high', 'low') as daily, m.strike_type, m.floor_strike,
               case m.strike_type when 'greater' then m.floor_strike + pr.step_in / 2
                                  when 'greater_or_equal' then m.floor_strike - pr.step_in / 2 end as eff,
               m.strike_type in ('greater', 'greater_or_equal', 'less', 'less_or_equal', 'between') as bounded
          from ops.market_payoffs(p_as_of, p_mode, p_include_working, p_exclude, p_events) p
          join ops.markets m on m.ticker = p.ticker
          left join ops.monthly_prior pr on pr.kind = m.kind),
    ladder as (select * from all_markets a where a.daily),
    events as (
        select l.event_ticker, min(l.cluster) as cluster, sum(l.lose_payoff) as all_lose,
               bool_or(l.lo is null) and bool_or(l.hi is null)
               and bool_and(l.prev_hi is null or l.lo = l.prev_hi + 1) and bool_and(l.bounded) as complete
          from (select ladder.*, lag(ladder.hi) over (partition by ladder.event_ticker order by ladder.lo nulls first) as prev_hi
                  from ladder) l
         group by l.event_ticker),
    monthly as (
        select a.event_ticker, min(a.cluster) as cluster, sum(a.lose_payoff) as all_lose,
               sum(least(a.win_payoff, a.lose_payoff)) as bound, bool_and(a.eff is not null) as nested
          from all_markets a where not a.daily group by a.event_ticker)
    select e.event_ticker, e.cluster, l.ticker, e.all_lose - l.lose_payoff + l.win_payoff
      from events e join ladder l on l.event_ticker = e.event_ticker
    union all
    select e.event_ticker, e.cluster, null, e.all_lose from events e where not e.complete
    union all
    select mo.event_ticker, mo.cluster, t.ticker, sum(case when x.eff <= t.eff then x.win_payoff else x.lose_payoff end)
      from monthly mo join all_markets t on t.event_ticker = mo.event_ticker
      join all_markets x on x.event_ticker = mo.event_ticker
     where mo.nested group by mo.event_ticker, mo.cluster, t.ticker
    union all
    select mo.event_ticker, mo.cluster, null, mo.all_lose from monthly mo where mo.nested
    union all
    select mo.event_ticker, mo.cluster, null, mo.bound from monthly mo where not mo.nested;
end
$fn$;
comment on function ops.event_outcomes(timestamptz, ops.trading_mode, boolean, bigint[], text[]) is 'Payoff of each unsettled event named or holding exposure (null: every one) under each outcome (daily ladders: which bracket wins, null = none of the known ones; Monthly thresholds: the highest passed, null = none).';

create or replace function ops.event_outcomes(p_as_of timestamptz, p_mode ops.trading_mode,
                                              p_include_working boolean default true, p_exclude bigint[] default '{}')
returns table (event_ticker text, cluster ops.city_cluster, outcome_ticker text, base_payoff numeric)
language sql stable parallel safe
begin atomic
    select * from ops.event_outcomes(p_as_of, p_mode, p_include_working, p_exclude, null::text[]);
end;
comment on function ops.event_outcomes(timestamptz, ops.trading_mode, boolean, bigint[]) is 'Payoff of each unsettled event under each outcome (daily ladders: which bracket wins, null = none of the known ones; Monthly thresholds: the highest passed, null = none).';

create or replace function ops.event_worst_case_loss(p_as_of timestamptz,
                                                     p_mode ops.trading_mode default coalesce(nullif(current_setting('milkbot.mode', true), ''), 'paper')::ops.trading_mode,
                                                     p_include_working boolean default true)
returns table (event_ticker text, cluster ops.city_cluster, worst_case_loss numeric)
language sql stable parallel safe
begin atomic
    select e.event_ticker, e.cluster, greatest(0, -min(e.base_payoff))
      from ops.event_outcomes(p_as_of, p_mode, p_include_working) e
     group by e.event_ticker, e.cluster;
end;
comment on function ops.event_worst_case_loss(timestamptz, ops.trading_mode, boolean) is 'Worst-case loss per event ladder across its outcomes (dollars, >= 0), working orders counted as if any part fills.';

-- Fills on markets we do not know (not in ops.markets): we cannot tell which outcome pays, so each counts
-- at its worst case — everything spent, less what a YES+NO pair is certain to return.
create or replace function ops.unmapped_exposure(p_as_of timestamptz, p_mode ops.trading_mode)
returns numeric
-- PL/pgSQL: its plan is cached for the session (a SQL body is planned at every call; every cycle makes one)
language plpgsql stable parallel safe
set search_path = pg_catalog, ops
as $fn$
begin
    return (select coalesce(sum(greatest(0, h.cash_spent - least(h.yes_gross, h.no_gross))), 0)
              from ops.ledger_holdings(p_as_of, p_mode) h
             where not exists (select 1 from ops.markets m where m.ticker = h.ticker));
end
$fn$;
comment on function ops.unmapped_exposure(timestamptz, ops.trading_mode) is 'Worst-case loss of fills on markets unknown to us (counted in total exposure).';

-- Equity of one book = starting capital (the bankroll limit) + cash flows of its fills + settlement
-- payouts + unsettled holdings marked at what they could be sold for (YES at the bid, NO at 1 - ask; no
-- quote or an unknown market = 0, conservative).
-- PL/pgSQL: its plan is cached for the session (a SQL body is planned at every call; a cycle makes two).
create or replace function ops.equity_at(p_as_of timestamptz, p_mode ops.trading_mode)
returns numeric
language plpgsql stable parallel safe
set search_path = pg_catalog, ops
as $fn$
begin
    return (select (select value from ops.risk_limits where name = 'bankroll')
         + coalesce(sum(
               case when m.status = 'finalized' and m.result in ('yes', 'no') and coalesce(m.expiration_time, m.close_time) <= p_as_of
                    then case m.result when 'yes' then h.yes_gross else h.no_gross end
                    else h.yes_gross * coalesce(q.yes_bid, 0) + h.no_gross * coalesce(1 - q.yes_ask, 0)
               end - h.cash_spent), 0)
      from ops.ledger_holdings(p_as_of, p_mode) h
      left join ops.markets m on m.ticker = h.ticker
      left join lateral (
            select s.yes_bid, s.yes_ask from ops.market_snapshots s
             where s.ticker = h.ticker and s.fetched_at <= p_as_of
             order by s.fetched_at desc limit 1) q on true);
end
$fn$;
comment on function ops.equity_at(timestamptz, ops.trading_mode) is 'Equity of one mode at a time: starting capital + realised cash flows + settlements + marked open positions (dollars).';

create or replace function ops.trading_day_start(p_as_of timestamptz)
returns timestamptz
language sql immutable strict parallel safe
return date_trunc('day', p_as_of at time zone 'America/New_York') at time zone 'America/New_York';
comment on function ops.trading_day_start(timestamptz) is 'Midnight US Eastern of the trading day containing p_as_of (the daily-loss breaker''s day).';
