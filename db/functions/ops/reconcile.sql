-- Positions are derived from the fill ledger, in SQL, so the executor only reports what the exchange
-- says. Settled markets close at 1 (winning side) or 0 per contract, realised P&L net of fees.
create or replace function ops.refresh_positions(p_as_of timestamptz)
returns integer
language plpgsql security definer set search_path = pg_catalog, ops as $$
declare
    v_rows integer;
begin
    with led as (
        select f.mode, f.ticker,
               sum(case f.side when 'bid' then f.count else -f.count end) as net,
               sum(case f.side when 'bid' then f.count else 0 end) as yes_gross,
               sum(case f.side when 'ask' then f.count else 0 end) as no_gross,
               sum(case f.side when 'bid' then f.yes_price else 1 - f.yes_price end * f.count) as cost,
               sum(f.fee) as fees
          from ops.fills f group by f.mode, f.ticker
    ),
    valued as (
        select l.*, m.status = 'finalized' and m.result in ('yes', 'no') as settled,
               case m.result when 'yes' then l.yes_gross when 'no' then l.no_gross end as payout
          from led l left join ops.markets m on m.ticker = l.ticker
    )
    -- Open positions carry their cost; P&L is realised when the market settles (payout - cost - fees).
    insert into ops.positions as p (mode, ticker, position, cost_basis, realized_pnl, fees_paid, updated_at, settled_at)
    select v.mode, v.ticker,
           case when coalesce(v.settled, false) then 0 else v.net end,
           case when coalesce(v.settled, false) then 0 else v.cost end,
           case when coalesce(v.settled, false) then v.payout - v.cost - v.fees else 0 end,
           v.fees, p_as_of,
           case when coalesce(v.settled, false) then p_as_of end
      from valued v
    on conflict (mode, ticker) do update
       set position = excluded.position, cost_basis = excluded.cost_basis, realized_pnl = excluded.realized_pnl,
           fees_paid = excluded.fees_paid, updated_at = excluded.updated_at,
           settled_at = coalesce(p.settled_at, excluded.settled_at)
     where (p.position, p.cost_basis, p.realized_pnl, p.fees_paid) is distinct from
           (excluded.position, excluded.cost_basis, excluded.realized_pnl, excluded.fees_paid)
        or (p.settled_at is null and excluded.settled_at is not null);
    get diagnostics v_rows = row_count;
    return v_rows;
end
$$;
comment on function ops.refresh_positions(timestamptz) is 'Derive ops.positions from the fill ledger; settled markets close at 1/0 with realised P&L net of fees.';

-- The reconciler reports the exchange's positions; mismatches become risk events, and past the limit
-- trading goes REDUCING (never back to ACTIVE: that is an operator's call). p_in_flight: markets whose
-- fills moved while the positions were read (fills pulled before and after them differ): a difference
-- there may be a fill racing the read, so they are recorded but not counted until the next pass.
create or replace function ops.report_exchange_positions(p_as_of timestamptz, p_mode ops.trading_mode, p_positions jsonb,
                                                         p_in_flight text[] default '{}')
returns integer
language plpgsql security definer set search_path = pg_catalog, ops as $$
declare
    v_mismatches integer;
    v_limit numeric := (select value from ops.risk_limits where name = 'max_position_mismatches');
    v_detail jsonb;
begin
    if jsonb_typeof(p_positions) <> 'object' then
        raise exception 'positions must be a JSON object {ticker: position}' using errcode = 'invalid_parameter_value';
    end if;
    update ops.positions p
       set exchange_position = coalesce((p_positions->>p.ticker)::numeric, 0), reconciled_at = p_as_of
     where p.mode = p_mode;
    -- a position the exchange has and we do not (known market or not) is a mismatch too
    insert into ops.positions (mode, ticker, position, exchange_position, reconciled_at, updated_at)
    select p_mode, e.key, 0, e.value::numeric, p_as_of, p_as_of
      from jsonb_each_text(p_positions) e
     where not exists (select 1 from ops.positions p where p.mode = p_mode and p.ticker = e.key);
    select count(*), jsonb_object_agg(ticker, jsonb_build_object('ours', position, 'exchange', exchange_position))
      into v_mismatches, v_detail
      from ops.positions where mode = p_mode and settled_at is null and position <> coalesce(exchange_position, 0)
       and ticker <> all (coalesce(p_in_flight, '{}'));
    if v_mismatches > 0 then
        insert into ops.risk_events (at, kind, severity, detail, message)
        values (p_as_of, 'position_mismatch', case when v_mismatches > v_limit then 'critical' else 'warning' end,
                v_detail, format('%s position(s) differ from the exchange', v_mismatches));
        perform ops.heartbeat('reconciler', false, format('%s position mismatch(es)', v_mismatches));
        if v_mismatches > v_limit then
            update ops.trading_state set state = 'REDUCING', changed_at = p_as_of, changed_by = 'ops.report_exchange_positions',
                   reason = format('reconciler: %s position mismatches (limit %s)', v_mismatches, v_limit)
             where state = 'ACTIVE';
        end if;
    end if;
    return v_mismatches;
end
$$;
comment on function ops.report_exchange_positions(timestamptz, ops.trading_mode, jsonb, text[]) is 'Record the exchange''s positions, flag mismatches (risk event, degraded health, REDUCING past the limit).';
