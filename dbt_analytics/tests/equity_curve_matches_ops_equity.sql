-- The equity curve, built here from the staged ledger and quotes, must equal the live system's own
-- definition of equity (ops.equity_at: bankroll + cash flows + settlements + marks at the bid / 1 - ask)
-- at every hour it reports. Two independent computations of one number: a wrong fee, mark, settlement
-- rule or cut-off in either shows up as a row here. Rows returned are violations.
select e.at, e.equity as curve_equity, ops.equity_at(e.at, (select book from {{ source('analytics', 'public_cutoff') }})) as ops_equity
  from {{ ref('equity_curve') }} e
 where abs(e.equity - ops.equity_at(e.at, (select book from {{ source('analytics', 'public_cutoff') }}))) > 0.0001
