-- Public: the dashboard's headline numbers over the whole book, one row: net P&L (realised + marked -
-- fees), fills and contracts, win rate (share of settled contracts that paid out) and the model's Brier
-- score on settled markets. Built on the delayed staging models: nothing younger than 60 minutes.
select {{ metric_columns() | replace('hit_rate', 'win_rate') }}
  from {{ ref('int_market_results') }}
