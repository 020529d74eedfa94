-- The gates. Each returns (pass, reason); the cycle records every verdict in ops.signals.gates.
-- Parameters come from ops.strategy_params through the caller, so each gate is a pure function.

create or replace function ops.verdict(pass boolean, reason text)
returns ops.gate_verdict language sql stable parallel safe  -- stable, like format(): lets the planner inline it
return row(pass, reason)::ops.gate_verdict;
comment on function ops.verdict(boolean, text) is 'Builds a gate verdict.';

create or replace function ops.gate_spread(yes_bid numeric, yes_ask numeric, max_spread numeric)
returns ops.gate_verdict language sql stable parallel safe  -- stable, like format(): lets the planner inline it
return case
    when yes_bid is null or yes_ask is null then ops.verdict(false, 'no two-sided quote')
    when yes_ask - yes_bid > max_spread then ops.verdict(false, format('spread %s > max %s', yes_ask - yes_bid, max_spread))
    else ops.verdict(true, format('spread %s <= max %s', yes_ask - yes_bid, max_spread))
end;
comment on function ops.gate_spread(numeric, numeric, numeric) is 'Spread gate: YES ask - YES bid <= max_spread; fails without a two-sided quote.';

create or replace function ops.gate_liquidity(size_at_best numeric, open_interest numeric, volume numeric,
                                              min_size numeric, min_open_interest numeric, min_volume numeric)
returns ops.gate_verdict language sql stable parallel safe  -- stable, like format(): lets the planner inline it
return case
    when size_at_best is null then ops.verdict(false, 'no size at the best price')
    when size_at_best < min_size then ops.verdict(false, format('size %s at best < min %s', size_at_best, min_size))
    when coalesce(open_interest, 0) < min_open_interest then ops.verdict(false, format('open interest %s < min %s', coalesce(open_interest, 0), min_open_interest))
    when coalesce(volume, 0) < min_volume then ops.verdict(false, format('volume %s < min %s', coalesce(volume, 0), min_volume))
    else ops.verdict(true, format('size %s at best >= %s', size_at_best, min_size))
end;
comment on function ops.gate_liquidity(numeric, numeric, numeric, numeric, numeric, numeric) is 'Liquidity gate: size at the price we would take, open interest and volume floors.';

create or replace function ops.gate_edge(edge numeric, min_edge numeric)
returns ops.gate_verdict language sql stable parallel safe  -- stable, like format(): lets the planner inline it
return case
    when edge is null then ops.verdict(false, 'no edge computable (no model p or no price)')
    when edge < min_edge then ops.verdict(false, format('edge %s < min %s', round(edge, 4), min_edge))
    else ops.verdict(true, format('edge %s >= min %s', round(edge, 4), min_edge))
end;
comment on function ops.gate_edge(numeric, numeric) is 'Edge gate: model p - price - taker fee (per contract, on the chosen side) >= min_edge.';

create or replace function ops.gate_staleness(weather_at timestamptz, quote_at timestamptz, as_of timestamptz,
                                              max_weather_age_min numeric, max_quote_age_min numeric)
returns ops.gate_verdict language sql stable parallel safe  -- stable, like format(): lets the planner inline it
return case
    when weather_at is null then ops.verdict(false, 'no non-stale forecast')
    when as_of - weather_at > make_interval(mins => max_weather_age_min::int)
        then ops.verdict(false, format('forecast is %s old (max %s min)', date_trunc('second', as_of - weather_at), max_weather_age_min))
    when quote_at is null then ops.verdict(false, 'no quote')
    when as_of - quote_at > make_interval(mins => max_quote_age_min::int)
        then ops.verdict(false, format('quote is %s old (max %s min)', date_trunc('second', as_of - quote_at), max_quote_age_min))
    else ops.verdict(true, 'forecast and quote are fresh')
end;
comment on function ops.gate_staleness(timestamptz, timestamptz, timestamptz, numeric, numeric) is 'Staleness gate: newest forecast and quote younger than their limits at the decision time.';

-- Kalshi pauses trading every Thursday 03:00-05:00 US Eastern (kalshi-api.md §3.12).
-- Not strict: a strict function is inlined only when its body is strict too (this one's `and` is not), and
-- the gate calls it for every market (null in, null out all the same)
create or replace function ops.in_weekly_maintenance(as_of timestamptz)
returns boolean language sql immutable parallel safe
return extract(isodow from as_of at time zone 'America/New_York') = 4
   and (as_of at time zone 'America/New_York')::time >= '03:00' and (as_of at time zone 'America/New_York')::time < '05:00';
comment on function ops.in_weekly_maintenance(timestamptz) is 'True during Kalshi''s weekly maintenance window (Thursday 03:00-05:00 ET).';

create or replace function ops.gate_timing(as_of timestamptz, open_time timestamptz, close_time timestamptz, close_buffer_min numeric,
                                           exchange_active boolean, trading_active boolean, status_at timestamptz,
                                           max_status_age_min numeric default 15)
returns ops.gate_verdict language sql stable parallel safe  -- stable, like format(): lets the planner inline it
return case
    when as_of < open_time then ops.verdict(false, format('market opens at %s', open_time))
    when as_of >= close_time - make_interval(mins => close_buffer_min::int)
        then ops.verdict(false, format('within %s min of close (%s)', close_buffer_min, close_time))
    when status_at is null or as_of - status_at > make_interval(mins => coalesce(max_status_age_min, 15)::int)
         or status_at > as_of + interval '1 minute'
        then ops.verdict(false, 'exchange status unknown')
    when not exchange_active or not trading_active then ops.verdict(false, 'exchange or trading inactive')
    when ops.in_weekly_maintenance(as_of) then ops.verdict(false, 'weekly maintenance window')
    else ops.verdict(true, 'market open, exchange active')
end;
comment on function ops.gate_timing(timestamptz, timestamptz, timestamptz, numeric, boolean, boolean, timestamptz, numeric) is 'Timing gate: open, not near close, exchange status known (at most max_status_age_min old) and active, not in maintenance.';

create or replace function ops.gate_sanity(model_p numeric, price numeric, price_ranges jsonb, max_p numeric)
returns ops.gate_verdict language sql stable parallel safe  -- stable, like format(): lets the planner inline it
return case
    when model_p is null then ops.verdict(false, 'no model probability')
    when model_p < 0 or model_p > 1 then ops.verdict(false, format('model p %s outside [0,1]', model_p))
    when model_p > max_p or model_p < 1 - max_p then ops.verdict(false, format('model p %s beyond sanity bound %s', round(model_p, 4), max_p))
    when price is null then ops.verdict(false, 'no price')
    when price <= 0 or price >= 1 then ops.verdict(false, format('price %s outside (0, 1)', price))
    when not ops.on_price_grid(price, price_ranges) then ops.verdict(false, format('price %s is off the market grid', price))
    else ops.verdict(true, 'p in bounds, price on grid')
end;
comment on function ops.gate_sanity(numeric, numeric, jsonb, numeric) is 'Sanity gate: p in [1-max_p, max_p] and the price on the market''s price grid.';

-- Sanity against the world: the inputs, not the edge. A forecast that moved more than max_jump_sigma
-- model sigmas since the previous forecast for the same target waits for confirmation (one bad NWS value
-- once gave p 0.726 against an ask of 0.08); a model probability further than max_disagree from the
-- market-implied one (mids normalised over the event's ladder) is more likely a bad input than an edge.
create or replace function ops.gate_world(model_p numeric, market_p numeric, forecast_jump numeric, sigma double precision,
                                          max_jump_sigma numeric, max_disagree numeric)
returns ops.gate_verdict language sql stable parallel safe  -- stable, like format(): lets the planner inline it
return case
    when forecast_jump is not null and sigma > 0 and abs(forecast_jump) > max_jump_sigma * sigma::numeric
        then ops.verdict(false, format('forecast moved %s °F since the previous one (more than %s sigma = %s °F): waiting for the next forecast to confirm it',
                                       round(forecast_jump, 1), max_jump_sigma, round(max_jump_sigma * sigma::numeric, 1)))
    when model_p is not null and market_p is not null and abs(model_p - market_p) > max_disagree
        then ops.verdict(false, format('model p %s vs market-implied %s: disagreement beyond %s (more likely a bad input than an edge)',
                                       round(model_p, 3), round(market_p, 3), max_disagree))
    else ops.verdict(true, format('forecast steady%s; model within %s of the market%s', case when forecast_jump is not null then format(' (moved %s °F)', round(forecast_jump, 1)) else '' end,
                                  max_disagree, coalesce(format(' (%s)', round(market_p, 3)), '')))
end;
comment on function ops.gate_world(numeric, numeric, numeric, double precision, numeric, numeric) is 'World gate: no trade on a forecast that jumped beyond N sigma since the previous one, or a model too far from the market-implied ladder.';
