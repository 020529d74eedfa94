-- What the edge the cycle claimed was worth (issue 24 §4). Every fill of one book on a settled market,
-- linked to the signal its order came from: claimed = the signal's edge per contract (p - price - fee, at
-- the decision), realised = what a contract paid (1 if its side won) - its price - its fee. Settlements
-- known by p_as_of only.
create or replace function ops.settled_trades(p_as_of timestamptz, p_mode ops.trading_mode)
returns table (ticker text, contracts numeric, claimed numeric, realised numeric)
language sql stable
set search_path = pg_catalog, ops
begin atomic
    select fl.ticker, fl.count, s.edge,
           case fl.side when 'bid' then (m.result = 'yes')::int - fl.yes_price
                        else (m.result = 'no')::int - (1 - fl.yes_price) end - fl.fee / fl.count
      from ops.fills fl
      join ops.orders o on o.id = fl.order_id
      join ops.signals s on s.id = o.signal_id
      join ops.markets m on m.ticker = fl.ticker
     where fl.mode = p_mode and m.result in ('yes', 'no') and m.expiration_value_at <= p_as_of
       and s.edge is not null and fl.created_time <= p_as_of;
end;
comment on function ops.settled_trades(timestamptz, ops.trading_mode) is 'Every fill of one book on a market settled by p_as_of: contracts, the edge its signal claimed and the edge it realised, per contract.';

-- Per claimed-edge bucket: fills, markets, contracts, the contract-weighted claimed
-- and realised edge, and a 95 % interval of the realised edge from the spread between markets (fills of
-- one market share one outcome: the market is the unit).
create or replace function ops.edge_realised(p_as_of timestamptz, p_mode ops.trading_mode)
returns table (bucket text, edge_from numeric, markets bigint, contracts numeric, claimed numeric, realised numeric,
               realised_lo numeric, realised_hi numeric)
language sql stable
set search_path = pg_catalog, ops
begin atomic
    with f as (
        select t.ticker, t.contracts as count, t.claimed, t.realised,
               width_bucket(t.claimed, array[0.00, 0.02, 0.04, 0.06, 0.10]::numeric[]) as b
          from ops.settled_trades(p_as_of, p_mode) t),
    per_market as (
        select f.b, f.ticker, sum(f.count) as n, sum(f.count * f.claimed) / sum(f.count) as claimed,
               sum(f.count * f.realised) / sum(f.count) as realised
          from f group by f.b, f.ticker),
    buckets as (
        select pm.b, count(*) as markets, sum(pm.n) as contracts,
               sum(pm.n * pm.claimed) / sum(pm.n) as claimed, sum(pm.n * pm.realised) / sum(pm.n) as realised,
               coalesce(stddev_samp(pm.realised), 0) / sqrt(count(*)::numeric) as se
          from per_market pm group by pm.b)
    select case bk.b when 0 then 'below 0¢' when 1 then '0–2¢' when 2 then '2–4¢' when 3 then '4–6¢' when 4 then '6–10¢' else '10¢ and more' end,
           (array[null, 0.00, 0.02, 0.04, 0.06, 0.10]::numeric[])[bk.b + 1],
           bk.markets, bk.contracts, round(bk.claimed, 4), round(bk.realised, 4),
           round(bk.realised - 1.96 * bk.se, 4), round(bk.realised + 1.96 * bk.se, 4)
      from buckets bk order by bk.b;
end;
comment on function ops.edge_realised(timestamptz, ops.trading_mode) is 'Per claimed-edge bucket: settled markets traded, contracts, claimed and realised edge per contract, and a 95 % interval of the realised (markets as the unit).';

-- min_edge from the measurement: the lowest claimed edge from which on (this bucket and every higher one,
-- pooled) the realised edge's 95 % interval lies above zero -- so a threshold is only ever set where the
-- trades above it have earned money beyond doubt, and only where trades claimed it. Needs min_edge_min_markets settled traded markets;
-- with min_edge_auto = 1 the strategy's min_edge is set to it (bounded by the parameter's own range,
-- audited like any change, the reason in the audit). Returns what it found and did.
create or replace function ops.fit_min_edge(p_as_of timestamptz, p_mode ops.trading_mode)
returns jsonb
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    v_auto    boolean := (select value = 1 from ops.strategy_params where strategy = 'all' and name = 'min_edge_auto');
    v_need    numeric := (select value from ops.strategy_params where strategy = 'all' and name = 'min_edge_min_markets');
    v_markets bigint;
    v_edge    numeric;
    v_now     numeric := (select value from ops.strategy_params where strategy = 'all' and name = 'min_edge');
    v_why     text;
begin
    select coalesce(sum(e.markets), 0) into v_markets from ops.edge_realised(p_as_of, p_mode) e;
    if v_markets < v_need then
        return jsonb_build_object('set', false, 'markets', v_markets,
                                  'reason', format('%s settled traded markets, %s needed', v_markets, v_need));
    end if;
    -- from each bucket's lower edge on, pooled over markets: the lowest threshold whose pooled realised
    -- edge is above zero at 95 %
    with f as (select t.ticker, t.claimed, t.realised, t.contracts as count from ops.settled_trades(p_as_of, p_mode) t),
    cand as (select unnest(array[0.00, 0.02, 0.04, 0.06, 0.10]::numeric[]) as t),
    pooled as (
        select c.t, pm.ticker, sum(pm.count * pm.realised) / sum(pm.count) as realised
          from cand c join f pm on pm.claimed >= c.t group by c.t, pm.ticker),
    judged as (
        select p.t, count(*) as markets, avg(p.realised) - 1.96 * coalesce(stddev_samp(p.realised), 0) / sqrt(count(*)::numeric) as lo
          from pooled p group by p.t),
    -- a threshold must be measured: trades claiming it (its bucket holds 10 markets or more); and it is
    -- never set below the lowest edge actually claimed above it (nothing was traded lower to judge by)
    supported as (
        select j.t, (select min(f.claimed) from f where f.claimed >= j.t) as lowest
          from judged j
         where j.lo > 0 and j.markets >= 10
           and (select count(distinct f.ticker) from f
                 where f.claimed >= j.t and f.claimed < coalesce((select min(c2.t) from cand c2 where c2.t > j.t), 'infinity')) >= 10)
    select greatest(s.t, s.lowest) into v_edge from supported s order by s.t limit 1;
    if v_edge is null then
        v_why := format('no claimed edge from which the realised edge is above zero at 95 %% (%s markets): min_edge stays %s', v_markets, v_now);
        return jsonb_build_object('set', false, 'markets', v_markets, 'reason', v_why);
    end if;
    v_edge := greatest(v_edge, (select min_value from ops.strategy_params where strategy = 'all' and name = 'min_edge'));
    v_why := format('trades claiming %s or more realised above zero at 95 %% on %s settled markets', v_edge, v_markets);
    if v_auto and v_edge is distinct from v_now then
        -- the audit names who changed it (the measurement); the reason goes to the health log
        perform set_config('milkbot.operator', 'ops.fit_min_edge (measured)', true);
        update ops.strategy_params set value = v_edge where strategy = 'all' and name = 'min_edge';
        perform set_config('milkbot.operator', '', true);
        insert into ops.health_events (at, component, level, message)
        values (p_as_of, 'cycle', 'ok', format('min_edge %s -> %s: %s', v_now, v_edge, v_why));
    end if;
    return jsonb_build_object('set', v_auto and v_edge is distinct from v_now, 'min_edge', v_edge, 'markets', v_markets, 'reason', v_why);
end
$$;
comment on function ops.fit_min_edge(timestamptz, ops.trading_mode) is 'Set min_edge from the measured realised edge of settled trades (when min_edge_auto and enough markets); returns the finding.';
