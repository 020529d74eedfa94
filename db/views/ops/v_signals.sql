-- Why a size was chosen: the target (fractional Kelly of this book's equity, then every cap), what is
-- held and working, the new order and what happened to the market's live order.
create or replace view ops.v_signals as
select s.as_of, s.ticker, m.city_code, m.climate_date, m.kind, s.strategy, s.model_p, s.yes_bid, s.yes_ask,
       s.edge,
       (s.gates->'strategy'->>'pass')::boolean  as strategy_ok,
       (s.gates->'timing'->>'pass')::boolean    as timing_ok,
       (s.gates->'staleness'->>'pass')::boolean as staleness_ok,
       (s.gates->'spread'->>'pass')::boolean    as spread_ok,
       (s.gates->'liquidity'->>'pass')::boolean as liquidity_ok,
       (s.gates->'sanity'->>'pass')::boolean    as sanity_ok,
       (s.gates->'edge'->>'pass')::boolean      as edge_ok,
       s.decision, s.side, s.price,
       s.target_contracts, s.held, s.working, s.size as order_contracts, s.live_order_action, s.equity,
       s.size, s.reason, s.gates
  from ops.signals s join ops.markets m on m.ticker = s.ticker;
comment on view ops.v_signals is 'Operator view: every evaluation with model p, prices, edge, each gate''s verdict, the target position, held, working, the order and the live order''s fate.';
