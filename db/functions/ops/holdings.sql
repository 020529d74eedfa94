-- What we hold (and could come to hold) per market at a time, from the append-only fill ledger plus
-- live orders counted as if filled at their limit (conservative). Gross YES and NO contracts are kept
-- apart: a YES+NO pair pays exactly $1, so payoff(outcome) = YES contracts if the market wins, NO
-- contracts if it loses, minus the cash spent — exact without any netting rules.
create or replace function ops.holdings_at(p_as_of timestamptz, include_open_orders boolean default true,
                                           include_live_intents boolean default true)
returns table (ticker text, yes_gross numeric, no_gross numeric, cash_spent numeric, fees numeric)
language sql stable parallel safe
begin atomic
    select t.ticker, sum(t.yes_n), sum(t.no_n), sum(t.cash), sum(t.fee)
      from (
        select f.ticker,
               case f.side when 'bid' then f.count else 0 end as yes_n,
               case f.side when 'ask' then f.count else 0 end as no_n,
               case f.side when 'bid' then f.yes_price else 1 - f.yes_price end * f.count + f.fee as cash,
               f.fee
          from ops.fills f
         where f.created_time <= p_as_of
        union all
        select o.ticker,
               case o.side when 'bid' then o.count - o.filled_count else 0 end,
               case o.side when 'ask' then o.count - o.filled_count else 0 end,
               (case o.side when 'bid' then o.price else 1 - o.price end) * (o.count - o.filled_count)
                 + ops.taker_fee(o.price, o.count - o.filled_count, 1),
               0
          from ops.orders o
         where include_open_orders and o.as_of <= p_as_of and o.count > o.filled_count
           and o.state in ('PENDING', 'SUBMITTING', 'RESTING', 'PARTIALLY_FILLED', 'UNKNOWN', 'CANCEL_PENDING')
           -- a live intent (not superseded, no cancel asked) is what the next cycle re-decides; the
           -- cycle leaves those out so that re-deciding the same inputs gives the same target
           and (include_live_intents or o.superseded_by is not null or o.cancel_requested_at is not null
                or o.state = 'CANCEL_PENDING')
      ) t
     group by t.ticker;
end;
comment on function ops.holdings_at(timestamptz, boolean, boolean) is 'Per market: gross YES and NO contracts, cash spent (incl. fees) from fills up to p_as_of, plus live orders at their limit if asked.';

-- Payoff of every event ladder under each of its outcomes. Only one bracket of a city-day can win, so
-- the worst case is the minimum over outcomes — not the sum of per-market losses. When the ladder's
-- known markets do not cover every integer (a gap or a missing tail), "none of them" is an outcome too.
create or replace function ops.event_outcomes(p_as_of timestamptz, include_open_orders boolean default true,
                                              include_live_intents boolean default true)
returns table (event_ticker text, cluster ops.city_cluster, outcome_ticker text, base_payoff numeric)
language sql stable parallel safe
begin atomic
    with ladder as (
        select m.event_ticker, c.cluster, m.ticker,
               ops.yes_lo(m.strike_type, m.floor_strike, m.cap_strike) as lo,
               ops.yes_hi(m.strike_type, m.floor_strike, m.cap_strike) as hi,
               coalesce(h.yes_gross, 0) as yes_gross, coalesce(h.no_gross, 0) as no_gross,
               coalesce(h.cash_spent, 0) as cash_spent
          from ops.markets m
          join ops.cities c on c.code = m.city_code
          left join ops.holdings_at(p_as_of, include_open_orders, include_live_intents) h on h.ticker = m.ticker
         where m.status not in ('finalized') and m.kind in ('high', 'low')
    ),
    gaps as (
        select l.event_ticker, min(l.cluster) as cluster,
               bool_or(l.lo is null) and bool_or(l.hi is null)
               and bool_and(l.prev_hi is null or l.lo = l.prev_hi + 1) as complete
          from (select ladder.*, lag(ladder.hi) over (partition by ladder.event_ticker order by ladder.lo nulls first) as prev_hi
                  from ladder) l
         group by l.event_ticker
    ),
    outcomes as (
        select distinct l.event_ticker, l.cluster, l.ticker as outcome_ticker from ladder l
        union all
        select g.event_ticker, g.cluster, null from gaps g where not g.complete
    )
    select o.event_ticker, o.cluster, o.outcome_ticker,
           sum(case when l.ticker = o.outcome_ticker then l.yes_gross else l.no_gross end - l.cash_spent)
      from outcomes o join ladder l on l.event_ticker = o.event_ticker
     group by o.event_ticker, o.cluster, o.outcome_ticker;
end;
comment on function ops.event_outcomes(timestamptz, boolean, boolean) is 'Payoff of each unsettled daily event ladder under each outcome (which bracket wins; null = none of the known ones).';

create or replace function ops.event_worst_case_loss(p_as_of timestamptz, include_open_orders boolean default true)
returns table (event_ticker text, cluster ops.city_cluster, worst_case_loss numeric)
language sql stable parallel safe
begin atomic
    select e.event_ticker, e.cluster, greatest(0, -min(e.base_payoff))
      from ops.event_outcomes(p_as_of, include_open_orders) e
     group by e.event_ticker, e.cluster;
end;
comment on function ops.event_worst_case_loss(timestamptz, boolean) is 'Worst-case loss per event ladder across its outcomes (dollars, >= 0).';

-- Equity = bankroll + cash flows of the fill ledger + settlement payouts + unsettled holdings marked at
-- what they could be sold for (YES at the bid, NO at 1 - ask; no quote = 0, conservative).
create or replace function ops.equity_at(p_as_of timestamptz)
returns numeric
language sql stable parallel safe
begin atomic
    select (select value from ops.risk_limits where name = 'bankroll')
         + coalesce(sum(
               case when m.status = 'finalized' and m.result in ('yes', 'no') and coalesce(m.expiration_time, m.close_time) <= p_as_of
                    then case m.result when 'yes' then h.yes_gross else h.no_gross end
                    else h.yes_gross * coalesce(q.yes_bid, 0) + h.no_gross * coalesce(1 - q.yes_ask, 0)
               end - h.cash_spent), 0)
      from ops.holdings_at(p_as_of, false) h
      join ops.markets m on m.ticker = h.ticker
      left join lateral (
            select s.yes_bid, s.yes_ask from ops.market_snapshots s
             where s.ticker = h.ticker and s.fetched_at <= p_as_of
             order by s.fetched_at desc limit 1) q on true;
end;
comment on function ops.equity_at(timestamptz) is 'Account equity at a time: bankroll + realised cash flows + settlements + marked open positions (dollars).';

create or replace function ops.trading_day_start(p_as_of timestamptz)
returns timestamptz
language sql immutable strict parallel safe
return date_trunc('day', p_as_of at time zone 'America/New_York') at time zone 'America/New_York';
comment on function ops.trading_day_start(timestamptz) is 'Midnight US Eastern of the trading day containing p_as_of (the daily-loss breaker''s day).';
