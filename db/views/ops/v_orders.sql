create or replace view ops.v_orders as
select o.id, o.client_order_id, o.exchange_order_id, o.ticker, o.strategy, o.side, o.price, o.count, o.filled_count,
       o.state, o.mode, o.host, o.as_of, o.created_at, o.updated_at, o.supersedes, o.superseded_by,
       o.cancel_requested_at, o.decrease_to, o.decrease_requested_at, o.last_error,
       (select jsonb_agg(jsonb_build_object('at', e.at, 'from', e.from_state, 'to', e.to_state, 'reason', e.reason) order by e.id)
          from ops.order_events e where e.order_id = o.id) as history
  from ops.orders o;
comment on view ops.v_orders is 'Operator view: every order with its full state history.';

create or replace view ops.v_fills as
select f.fill_id, f.created_time, f.ticker, m.city_code, f.side, f.yes_price, f.count, f.fee, f.is_taker, f.mode,
       fo.order_id, o.client_order_id, f.exchange_order_id, fo.order_id is null as out_of_band
  from ops.fills f
  join ops.fill_orders fo on fo.fill_id = f.fill_id
  left join ops.markets m on m.ticker = f.ticker
  left join ops.orders o on o.id = fo.order_id;
comment on view ops.v_fills is 'Operator view: the fill ledger; the order of each fill (recorded, or linked later by the exchange order id); out_of_band marks fills that match none of our orders.';

create or replace view ops.v_positions as
select p.mode, p.ticker, m.city_code, m.climate_date, m.kind, p.position as ours, p.exchange_position as exchange,
       p.position - coalesce(p.exchange_position, 0) as difference, p.cost_basis, p.realized_pnl, p.fees_paid,
       p.reconciled_at, p.settled_at
  from ops.positions p left join ops.markets m on m.ticker = p.ticker;
comment on view ops.v_positions is 'Operator view: our positions (from fills) against the exchange''s, with the difference.';
