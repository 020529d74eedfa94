-- Accounting identity: the change in equity since the start equals realised P&L plus marked P&L
-- (open positions at their mark minus their cost) minus fees. Rows returned are violations.
select e.at, e.equity, b.value as bankroll, e.realised_pnl, e.marked_pnl, e.fees
  from {{ ref('equity_curve') }} e
 cross join (select value from {{ ref('stg_risk_limits') }} where name = 'bankroll') b
 where abs((e.equity - b.value) - (e.realised_pnl + e.marked_pnl - e.fees)) > 0.0001
