-- Signal generation for every open market at a decision time: model probability, the side and price
-- we would take, and every gate's verdict. Pure function of the tables, `p_as_of` and `p_known_at` (never
-- now()), so a cycle can be replayed exactly: observations as of p_as_of, rows kept current in place
-- (parameters, cities, exchange status, markets) as the database held them at p_known_at (migration 0021).
-- p_events: only these event ladders (a per-event cycle); null: every open market.
create or replace function ops.evaluate_markets(p_as_of timestamptz, p_known_at timestamptz default 'infinity',
                                                p_events text[] default null)
returns table (ticker text, event_ticker text, city_code text, cluster ops.city_cluster, climate_date date,
               kind ops.market_kind, strategy ops.strategy, model_p numeric, yes_bid numeric, yes_ask numeric,
               side text, price numeric, edge numeric, size_at_best numeric, fee_multiplier numeric,
               gates jsonb, all_pass boolean, reason text, weather_at timestamptz, quote_at timestamptz)
-- PL/pgSQL rather than a SQL body: its plan is cached for the session (a SQL function re-plans this
-- query on every call, which cost more than running it), and it is never inlined into the caller.
language plpgsql stable
set search_path = pg_catalog, ops
as $fn$
#variable_conflict use_column
begin
return query
-- the rows-as-known functions once each (materialized: as the inner side of a join they would run per row)
with params as materialized (select * from ops.effective_params(p_known_at)),
exch as materialized (select * from ops.exchange_status_at(p_known_at)),
cities_k as materialized (select * from ops.control_at(null::ops.cities, p_known_at)),
-- the temperature model as it stands at p_as_of (forecast, calibration known then, same-day state); a
-- per-event cycle models only its events' cities (an event's city never changes)
model as materialized (
    select * from ops.model_inputs(p_as_of, p_known_at,
                                   case when p_events is not null
                                        then array(select distinct m.city_code from ops.markets m where m.event_ticker = any (p_events)) end)),
-- the previous forecast of the same source for the same target (a jump gate; per city-day-kind, not per market)
prev_forecast as materialized (   -- once per city-day-kind (inlined, it ran once per market)
    select mo.city_code, mo.climate_date, mo.kind,
           mo.forecast_f - (select fp.forecast_f from ops.forecasts fp
                             where fp.city_code = mo.city_code and fp.climate_date = mo.climate_date and fp.kind = mo.kind
                               and fp.source = mo.source and fp.fetched_at <= p_as_of and not fp.is_stale
                             order by fp.fetched_at desc offset 1 limit 1) as jump
      from model mo),
world_prm as materialized (
    select max(sp.value) filter (where sp.name = 'max_forecast_jump_sigma') as max_jump_sigma,
           max(sp.value) filter (where sp.name = 'max_market_disagreement') as max_disagree,
           max(sp.value) filter (where sp.name = 'max_status_age_min') as max_status_age
      from ops.control_at(null::ops.strategy_params, p_known_at) sp where sp.strategy = 'all'),
-- the model's weight in the traded probability per kind and lead (the market blend; 1 = the model alone)
blend as materialized (select * from ops.blend_weights_at(p_as_of, p_known_at)),
mkt as (
    select m.ticker, m.event_ticker, m.city_code, c.cluster, c.std_utc_offset, m.climate_date, m.kind,
           case m.kind when 'high' then 'DailyHigh' when 'low' then 'DailyLow' else 'Monthly' end::ops.strategy as strategy,
           m.strike_type, m.floor_strike, m.cap_strike, m.open_time, m.close_time, m.price_ranges,
           m.fee_multiplier, m.open_interest, m.volume,
           m.climate_date - ops.climate_date(p_as_of, c.std_utc_offset) as lead_days,
           ops.yes_lo(m.strike_type, m.floor_strike, m.cap_strike) as yes_lo,
           ops.yes_hi(m.strike_type, m.floor_strike, m.cap_strike) as yes_hi
      from ops.markets_at(p_known_at, p_as_of) m
      join cities_k c on c.code = m.city_code and c.enabled
     where m.status in ('initialized', 'active') and m.close_time > p_as_of
       and (p_events is null or m.event_ticker = any (p_events))
),
-- the Monthly model per city, kind and month (month to date, the remaining total's distribution); not
-- run at all when no Monthly market can be evaluated (a one-time filter: its query is planned at every
-- call). Any status counts, so a replay that reads markets as they were known then never misses one.
monthly as materialized (select * from ops.monthly_model(p_as_of, p_known_at)
                          where exists (select 1 from ops.markets m
                                         where m.kind in ('monthly_rain', 'monthly_snow') and m.close_time > p_as_of
                                           and (p_events is null or m.event_ticker = any (p_events)))),
priced as materialized (  -- computed once: later CTEs refer to model_p many times
    select k.*, p.max_spread, p.min_size, p.min_open_interest, p.min_volume, p.min_edge, p.max_weather_age_min,
           p.max_quote_age_min, p.close_buffer_min, p.max_p,
           exch.exchange_active, exch.trading_active, exch.fetched_at as status_at,
           q.yes_bid, q.yes_ask, q.yes_bid_size, q.yes_ask_size, q.fetched_at as quote_at,
           f.forecast_f, case when k.strategy = 'Monthly' then mm.weather_at else f.forecast_at end as weather_at, f.mu, f.sigma, f.df, f.observed, f.source as forecast_source, f.note as model_note,
           pf.jump as forecast_jump,
           ms.enabled as monthly_enabled, ms.reason as monthly_reason,
           to_jsonb(mm) - 'city_code' - 'kind' as monthly_model,
           case when k.strategy = 'Monthly' and mm.p_dry is not null then
               -- priced whether or not the series is enabled (the strategy gate decides trading): the
               -- dashboard shows the model beside the market for every listed series
               ops.monthly_market_p(k.strike_type, k.floor_strike, k.cap_strike, mm.step_in, mm.mtd_in,
                                    mm.p_dry, mm.mean_in, mm.var_in)::numeric(10,9)
                when k.strategy <> 'Monthly' and f.forecast_f is not null and k.strike_type in ('greater', 'greater_or_equal', 'less', 'less_or_equal', 'between') then
               ops.bracket_probability(f.mu, f.sigma, k.yes_lo, k.yes_hi, k.kind::text, f.observed, f.df)::numeric(10,9)
           end as model_p
      from mkt k
      join params p on p.strategy = k.strategy
      -- exchange status as plain columns: sub-selects as gate arguments would stop the gates inlining
      left join exch on true
      left join lateral (
            select s.yes_bid, s.yes_ask, s.yes_bid_size, s.yes_ask_size,
                   greatest(s.fetched_at, case when s.last_seen_at is not null then least(s.last_seen_at, p_as_of) end) as fetched_at
              from ops.market_snapshots s
             where s.ticker = k.ticker and s.fetched_at <= p_as_of
             order by s.fetched_at desc limit 1) q on true
      left join model f
             on k.strategy <> 'Monthly' and f.city_code = k.city_code and f.climate_date = k.climate_date and f.kind = k.kind::text
      left join prev_forecast pf
             on k.strategy <> 'Monthly' and pf.city_code = k.city_code and pf.climate_date = k.climate_date and pf.kind = k.kind::text
      left join ops.monthly_series ms on ms.city_code = k.city_code and ms.kind = k.kind
      left join monthly mm
             on k.strategy = 'Monthly' and mm.city_code = k.city_code and mm.kind = k.kind
            and mm.month = date_trunc('month', k.climate_date)::date
),
marketed as materialized (
    select pr.*,
           -- the market's own probability of this bracket: its mid, normalised over the event's quoted ladder
           -- (a Monthly threshold is not one of exclusive outcomes: its mid is its probability)
           case when pr.yes_bid is not null and pr.yes_ask is not null and pr.strategy = 'Monthly' then
               (pr.yes_bid + pr.yes_ask) / 2
                when pr.yes_bid is not null and pr.yes_ask is not null then
               ((pr.yes_bid + pr.yes_ask) / 2)
               / nullif(sum((pr.yes_bid + pr.yes_ask) / 2) filter (where pr.yes_bid is not null and pr.yes_ask is not null)
                          over (partition by pr.event_ticker), 0) end as market_p
      from priced pr
),
-- the probability traded on, the side, price and edge: one stage (each materialised stage copies every
-- row, ~1 kB wide, once more)
judged as materialized (
    -- the probability traded on: the model blended with the market where a fit is in force for the
    -- market's kind and lead (daily markets with a two-sided ladder; Monthly trades the model alone)
    select mp.*, bw.model_weight, bw.fit_id, mp.model_p as own_p, tp.trade_p,
           ch.side_c,
           case ch.side_c when 'bid' then mp.yes_ask else mp.yes_bid end as price_c,
           case ch.side_c when 'bid' then ed.edge_yes else ed.edge_no end as edge_c,
           case ch.side_c when 'bid' then mp.yes_ask_size else mp.yes_bid_size end as size_c
      from marketed mp
      left join blend bw on bw.kind = mp.kind::text and bw.lead_days = least(greatest(mp.lead_days, 0), 2)
     cross join lateral (
            select case when mp.strategy <> 'Monthly' and mp.market_p is not null and bw.model_weight < 1
                        then (bw.model_weight * mp.model_p + (1 - bw.model_weight) * mp.market_p)::numeric(10,9)
                        else mp.model_p end as trade_p) tp
     cross join lateral (
            select tp.trade_p - mp.yes_ask - ops.fee_per_contract(mp.yes_ask, mp.fee_multiplier) as edge_yes,
                   mp.yes_bid - tp.trade_p - ops.fee_per_contract(mp.yes_bid, mp.fee_multiplier) as edge_no) ed
     cross join lateral (
            select case when ed.edge_no is null or ed.edge_yes >= ed.edge_no then 'bid' else 'ask' end as side_c) ch
),
verdicts as materialized (
    select j.*,
           case when j.strike_type not in ('greater', 'greater_or_equal', 'less', 'less_or_equal', 'between')
                then ops.verdict(false, format('market shape %s is not one the model prices', j.strike_type))
                when j.strategy = 'Monthly' and not coalesce(j.monthly_enabled, false)
                then ops.verdict(false, format('Monthly disabled for %s: %s', j.city_code, coalesce(j.monthly_reason, 'no series configured')))
                when j.strategy = 'Monthly' and j.model_p is null
                then ops.verdict(false, 'Monthly: ' || coalesce(case when j.monthly_model is not null and (j.monthly_model->>'p_dry') is not null
                                                                      then format('market shape %s is not a threshold the model prices', j.strike_type) end,
                                                                 j.monthly_model->>'note', 'no open month to model'))
                else ops.verdict(true, 'strategy enabled') end as g_strategy,
           ops.gate_timing(p_as_of, j.open_time, j.close_time, j.close_buffer_min,
                           j.exchange_active, j.trading_active, j.status_at, wp.max_status_age) as g_timing,
           ops.gate_staleness(j.weather_at, j.quote_at, p_as_of, j.max_weather_age_min, j.max_quote_age_min) as g_staleness,
           ops.gate_spread(j.yes_bid, j.yes_ask, j.max_spread) as g_spread,
           ops.gate_liquidity(j.size_c, j.open_interest, j.volume, j.min_size, j.min_open_interest, j.min_volume) as g_liquidity,
           ops.gate_sanity(j.trade_p, j.price_c, j.price_ranges, j.max_p) as g_sanity,
           ops.gate_world(j.model_p, j.market_p, j.forecast_jump, j.sigma, wp.max_jump_sigma, wp.max_disagree) as g_world,
           ops.gate_edge(j.edge_c, j.min_edge) as g_edge
      from judged j cross join world_prm wp
)
select v.ticker, v.event_ticker, v.city_code, v.cluster, v.climate_date, v.kind, v.strategy, v.trade_p,
       v.yes_bid, v.yes_ask, v.side_c, v.price_c, v.edge_c::numeric(10,6), v.size_c, v.fee_multiplier,
       jsonb_build_object('strategy', to_jsonb(v.g_strategy), 'timing', to_jsonb(v.g_timing),
                          'staleness', to_jsonb(v.g_staleness), 'spread', to_jsonb(v.g_spread),
                          'liquidity', to_jsonb(v.g_liquidity), 'sanity', to_jsonb(v.g_sanity),
                          'world', to_jsonb(v.g_world) || jsonb_build_object('market_p', round(v.market_p, 4),
                                                                             'forecast_jump', v.forecast_jump),
                          'edge', to_jsonb(v.g_edge),
                          -- the three probabilities: the model's, the market's and the one traded on
                          'blend', jsonb_build_object('model_p', v.own_p, 'market_p', round(v.market_p, 6),
                                                     'model_weight', coalesce(v.model_weight, 1), 'fit_id', v.fit_id, 'p', v.trade_p),
                          -- what the model used (one forecast source per city and cycle), recorded on the signal
                          'model', case when v.strategy <> 'Monthly' then
                              jsonb_build_object('source', v.forecast_source, 'mu', round(v.mu::numeric, 2),
                                                 'sigma', round(v.sigma::numeric, 2), 'df', v.df,
                                                 'observed', v.observed, 'note', coalesce(v.model_note, 'no forecast'))
                              else jsonb_strip_nulls(v.monthly_model) end),
       (v.g_strategy).pass and (v.g_timing).pass and (v.g_staleness).pass and (v.g_spread).pass
           and (v.g_liquidity).pass and (v.g_sanity).pass and (v.g_world).pass and (v.g_edge).pass,
       coalesce(case when not (v.g_strategy).pass then 'strategy: ' || (v.g_strategy).reason end,
                case when not (v.g_timing).pass then 'timing: ' || (v.g_timing).reason end,
                case when not (v.g_staleness).pass then 'staleness: ' || (v.g_staleness).reason end,
                case when not (v.g_spread).pass then 'spread: ' || (v.g_spread).reason end,
                case when not (v.g_liquidity).pass then 'liquidity: ' || (v.g_liquidity).reason end,
                case when not (v.g_sanity).pass then 'sanity: ' || (v.g_sanity).reason end,
                case when not (v.g_world).pass then 'world: ' || (v.g_world).reason end,
                case when not (v.g_edge).pass then 'edge: ' || (v.g_edge).reason end,
                'all gates pass'),
       v.weather_at, v.quote_at
  from verdicts v;
end
$fn$;
comment on function ops.evaluate_markets(timestamptz, timestamptz, text[]) is 'Every open market at p_as_of: the probability traded on (the model, blended with the market where a fit is in force; all three in gates.blend), chosen side/price/edge and each gate''s verdict. Decides nothing about size or risk.';
