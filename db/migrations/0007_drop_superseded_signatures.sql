-- Definitions are re-applied with `create or replace`, which cannot change a signature: the old
-- overloads are dropped here (with the objects whose bodies bind to them) so the new ones are
-- unambiguous. Everything dropped is re-created by its file under db/functions and db/views.
drop view if exists ops.v_exposure;
drop view if exists ops.v_pnl_today;
drop function if exists ops.event_worst_case_loss(timestamptz, boolean);
drop function if exists ops.event_outcomes(timestamptz, boolean);
drop function if exists ops.equity_at(timestamptz);
drop function if exists ops.holdings_at(timestamptz, boolean);
