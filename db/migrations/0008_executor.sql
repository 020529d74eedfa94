-- Executor bookkeeping: the paper broker's last matched book per order, and settlement booking.
alter table ops.orders add column paper_book_id bigint references ops.market_snapshots on delete set null;
comment on column ops.orders.paper_book_id is 'Paper mode: the last orderbook snapshot this order was matched against (each book''s displayed size is used once).';

alter table ops.positions add column settled_at timestamptz;
comment on column ops.positions.settled_at is 'When the market settled and the position was closed at 1 or 0 per contract.';
